import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import { BUILT_IN_HOSTS } from '../../providers/built-in-hosts';
import { SYSTEM_ACTOR, type AuditActor } from '../auth/actor';
import { auditInTx } from '../audit/audit.writer';

export type HostChangeSource = 'UPSERT_PROVIDER' | 'OPERATOR_CONFIG';

export interface HostChange {
  provider: { id: string; slug: string };
  previousBaseUrl: string;
  baseUrl: string;
  source: HostChangeSource;
}

/**
 * Records a provider host change in the caller's transaction: one platform row, and one row in the
 * trail of every tenant holding a live key of that provider, written by ONE INSERT … SELECT however
 * many tenants there are. Nothing else needs to change: keys follow provider_host_confirmations,
 * which no longer matches the new base URL, so each of those tenants' keys is held until it
 * confirms (awaitingConfirmation says so per tenant; a change back to a confirmed host releases).
 */
export async function recordHostChangeInTx(tx: EntityManager, actor: AuditActor, change: HostChange): Promise<number> {
  const details = {
    provider: change.provider.slug,
    providerId: change.provider.id,
    previousBaseUrl: change.previousBaseUrl,
    baseUrl: change.baseUrl,
    source: change.source,
  };
  await auditInTx(tx, actor, { tenantId: null, action: 'PROVIDER_HOST_CHANGED', targetType: 'PROVIDER', targetId: change.provider.id, details });
  const rows: { tenant_id: string }[] = await tx.query(
    `INSERT INTO audit_events (tenant_id, actor_type, actor_id, action, target_type, target_id, details, request_id)
     SELECT h.tenant_id, $2, $3, 'PROVIDER_HOST_CHANGED', 'PROVIDER', $1::text,
            $4::jsonb || jsonb_build_object('awaitingConfirmation', hc.base_url IS DISTINCT FROM $5), $6
       FROM (SELECT DISTINCT c.tenant_id FROM credentials c WHERE c.provider_id = $1 AND c.revoked_at IS NULL) h
       LEFT JOIN provider_host_confirmations hc ON hc.tenant_id = h.tenant_id AND hc.provider_id = $1
      ORDER BY h.tenant_id -- audit chain heads locked in one order (docs/audit.md)
     RETURNING tenant_id`,
    [change.provider.id, actor.type, actor.id, JSON.stringify(details), change.baseUrl, actor.requestId],
  );
  return rows.length;
}

/** A URL as it may be logged: scheme, host, port and path (config already refuses credentials). */
function printable(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
  } catch {
    return '(unparseable)';
  }
}

/**
 * At API start: every built-in provider row gets the operator's host (PROVIDER_BASE_URL_<SLUG>)
 * or else its real one. A change is recorded like any host change, so tenants' keys are held until
 * they confirm. Idempotent and safe with several API processes starting at once (row lock, and
 * nothing is written when the row already matches).
 */
export async function pinBuiltInHosts(
  db: DataSource,
  overrides: Readonly<Record<string, string>>,
  log: Pick<Logger, 'info' | 'warn'>,
): Promise<void> {
  const rows: { slug: string }[] = await db.query('SELECT slug FROM providers WHERE built_in');
  const builtIn = new Set(rows.map((r) => r.slug));
  for (const [slug, url] of Object.entries(overrides)) {
    if (builtIn.has(slug)) log.info({ provider: slug, baseUrl: printable(url) }, 'built-in provider host set by operator configuration');
    else log.warn({ provider: slug }, 'PROVIDER_BASE_URL_* names no built-in provider; ignored (custom providers are changed with upsertProvider)');
  }
  for (const slug of builtIn) {
    const wanted = overrides[slug] ?? BUILT_IN_HOSTS[slug];
    if (!wanted) continue;
    await db.transaction(async (tx) => {
      const [row]: { id: string; base_url: string }[] = await tx.query('SELECT id, base_url FROM providers WHERE slug = $1 AND built_in FOR UPDATE', [
        slug,
      ]);
      if (!row || row.base_url === wanted) return;
      await tx.query('UPDATE providers SET base_url = $2, updated_at = now() WHERE id = $1', [row.id, wanted]);
      const tenants = await recordHostChangeInTx(tx, SYSTEM_ACTOR, {
        provider: { id: row.id, slug },
        previousBaseUrl: row.base_url,
        baseUrl: wanted,
        source: 'OPERATOR_CONFIG',
      });
      log.warn(
        { provider: slug, previousBaseUrl: printable(row.base_url), baseUrl: printable(wanted), tenantsNotified: tenants },
        'built-in provider host changed: stored keys are held until each tenant confirms the new host',
      );
    });
  }
}
