import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { isUuid } from '../../src/modules/auth/tenant-scope';
import type { CheckedVersion } from '../../src/modules/credential/credential-lifecycle.deps';
import type { ApiShape, AuthScheme } from '../../src/providers/types';

/** A stored key version with what checking it needs; no plaintext (the processor opens it). */
export interface VersionRow {
  state: string;
  kek_version: number | null;
  wrapped_key: Buffer | null;
  ciphertext: Buffer | null;
  revoked_at: Date | null;
  base_url: string;
  /** The host the tenant agreed to send its keys of this provider to; null: never confirmed. */
  confirmed_base_url: string | null;
  auth_scheme: AuthScheme;
  api_shape: ApiShape;
}

const READ = `
SELECT x.ord, v.state, v.kek_version, v.wrapped_key, v.ciphertext, c.revoked_at, p.base_url, hc.base_url AS confirmed_base_url, p.auth_scheme, p.api_shape
  FROM unnest($1::uuid[], $2::uuid[], $3::int[]) WITH ORDINALITY AS x(tenant_id, credential_id, version, ord)
  JOIN credential_versions v ON v.tenant_id = x.tenant_id AND v.credential_id = x.credential_id AND v.version = x.version
  JOIN credentials c ON c.id = v.credential_id AND c.tenant_id = v.tenant_id
  JOIN providers p ON p.id = c.provider_id
  LEFT JOIN provider_host_confirmations hc ON hc.tenant_id = c.tenant_id AND hc.provider_id = c.provider_id`;

/**
 * Reads the versions that jobs starting in the same turn of the event loop need, in one query.
 * Jobs start in waves (a group commit completes many at once and the next ones start together),
 * so this saves most of a round trip per job. Every row is matched on tenant, credential and
 * version together: a forged job finds nothing. Nothing is cached.
 */
export class VersionReader {
  private readonly loader: DataLoader<CheckedVersion, VersionRow | null>;

  constructor(db: Pick<DataSource, 'query'>) {
    this.loader = new DataLoader(
      async (keys) => {
        const rows: (VersionRow & { ord: string })[] = await db.query(READ, [
          keys.map((k) => k.tenantId),
          keys.map((k) => k.credentialId),
          keys.map((k) => k.version),
        ]);
        const byOrd = new Map(rows.map(({ ord, ...row }) => [Number(ord), row]));
        return keys.map((_, i) => byOrd.get(i + 1) ?? null);
      },
      { cache: false, maxBatchSize: 200, batchScheduleFn: (run) => setImmediate(run) },
    );
  }

  /** null when there is no such version in that tenant (or the ids are not even uuids). */
  async read(v: CheckedVersion): Promise<VersionRow | null> {
    if (!isUuid(v.tenantId) || !isUuid(v.credentialId) || !Number.isInteger(v.version)) return null;
    return this.loader.load(v);
  }
}
