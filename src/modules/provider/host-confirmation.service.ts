import type { DataSource } from 'typeorm';
import { DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { bumpGatewaysInTx } from '../gateway/gateway-reload';
import { enqueueManyInTx } from '../outbox/outbox.writer';

export interface HostStatus {
  providerId: string;
  /** The provider's base URL now. */
  baseUrl: string;
  /** The base URL the tenant agreed to; null when it never stored a key of this provider. */
  confirmedBaseUrl: string | null;
  confirmedAt: Date | null;
  awaitingConfirmation: boolean;
  /** The tenant's keys of this provider that are not revoked. */
  liveKeys: number;
}

const STATUS_SQL = `
SELECT p.id AS provider_id, p.base_url, hc.base_url AS confirmed_base_url, hc.confirmed_at,
       (SELECT count(*)::int FROM credentials c WHERE c.tenant_id = $1 AND c.provider_id = p.id AND c.revoked_at IS NULL) AS live_keys
  FROM providers p
  LEFT JOIN provider_host_confirmations hc ON hc.tenant_id = $1 AND hc.provider_id = p.id
 WHERE ($2::uuid IS NULL OR p.id = $2::uuid)
   AND (hc.tenant_id IS NOT NULL OR EXISTS (SELECT 1 FROM credentials c WHERE c.tenant_id = $1 AND c.provider_id = p.id))
 ORDER BY p.slug`;

/**
 * A tenant's consent to where its keys go. Keys of a provider are sent (checked, served to
 * gateways) only while the host the tenant confirmed is the provider's current one.
 */
export class HostConfirmationService {
  constructor(private readonly db: DataSource) {}

  /** Providers the tenant holds (or held) keys of, with the host it confirmed. */
  async list(tenantId: string): Promise<HostStatus[]> {
    const rows: Record<string, any>[] = await this.db.query(STATUS_SQL, [tenantId, null]);
    return rows.map(toStatus);
  }

  /**
   * Confirms the host the caller names, which must be the provider's host now: a confirmation
   * given for one host can never release keys to another that replaced it meanwhile. Then the
   * held keys are checked again and the tenant's gateways reload.
   */
  async confirm(tenantId: string, actor: AuditActor, providerId: string, rawBaseUrl: string): Promise<HostStatus> {
    const baseUrl = rawBaseUrl.trim().replace(/\/+$/, '');
    return this.db.transaction(async (tx) => {
      // FOR SHARE: a host change waits for this commit, or this waits for it and sees the new host.
      const [provider]: { id: string; slug: string; base_url: string }[] = isUuid(providerId)
        ? await tx.query('SELECT id, slug, base_url FROM providers WHERE id = $1 FOR SHARE', [providerId])
        : [];
      if (!provider) throw new NotFoundError('Provider', ['input', 'providerId']);
      if (provider.base_url !== baseUrl) {
        throw new DomainError('HOST_CHANGED', "That is not the provider's current host; review the current one and confirm it.", [
          'input',
          'baseUrl',
        ]);
      }
      const [before]: { base_url: string }[] = await tx.query(
        'SELECT base_url FROM provider_host_confirmations WHERE tenant_id = $1 AND provider_id = $2 FOR UPDATE',
        [tenantId, provider.id],
      );
      if (before?.base_url !== baseUrl) {
        await tx.query(
          `INSERT INTO provider_host_confirmations (tenant_id, provider_id, base_url, confirmed_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (tenant_id, provider_id) DO UPDATE SET base_url = EXCLUDED.base_url, confirmed_at = now()`,
          [tenantId, provider.id, baseUrl],
        );
        const versions: { credential_id: string; version: number }[] = await tx.query(
          `SELECT v.credential_id, v.version FROM credentials c
             JOIN credential_versions v ON v.tenant_id = c.tenant_id AND v.credential_id = c.id
            WHERE c.tenant_id = $1 AND c.provider_id = $2 AND c.revoked_at IS NULL
              AND v.state IN ('PENDING', 'ACTIVE', 'PREVIOUS') AND v.ciphertext IS NOT NULL`,
          [tenantId, provider.id],
        );
        const run = `host${Date.now()}`;
        await enqueueManyInTx(
          tx,
          versions.map((v) => ({
            name: 'validate-credential' as const,
            payload: { tenantId, credentialId: v.credential_id, version: v.version, sweep: run },
          })),
        );
        const gateways = await bumpGatewaysInTx(tx, tenantId, null, 'PROVIDER_HOST_CONFIRMED');
        await auditInTx(tx, actor, {
          tenantId,
          action: 'PROVIDER_HOST_CONFIRMED',
          targetType: 'PROVIDER',
          targetId: provider.id,
          details: {
            provider: provider.slug,
            providerId: provider.id,
            baseUrl,
            previousBaseUrl: before?.base_url ?? null,
            recheckedVersions: versions.length,
            reloadedGateways: gateways.length,
          },
        });
      }
      const [row]: Record<string, any>[] = await tx.query(STATUS_SQL, [tenantId, provider.id]);
      return toStatus(row);
    });
  }
}

function toStatus(r: Record<string, any>): HostStatus {
  return {
    providerId: r.provider_id,
    baseUrl: r.base_url,
    confirmedBaseUrl: r.confirmed_base_url,
    confirmedAt: r.confirmed_at,
    awaitingConfirmation: r.confirmed_base_url !== r.base_url,
    liveKeys: r.live_keys,
  };
}
