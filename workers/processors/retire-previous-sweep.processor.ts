import type { Job } from 'bullmq';
import { auditInTx } from '../../src/modules/audit/audit.writer';
import { bumpGatewaysInTx } from '../../src/modules/gateway/gateway-reload';
import type { JobPayloads } from '../../src/queue/registry';
import { publishCredentialChanged } from './credential-events';
import type { ProcessorDeps } from './deps';

export type RetireSweepDeps = Pick<ProcessorDeps, 'db' | 'events' | 'log'>;

export const RETIRE_PAGE = 500;
const SYSTEM = { type: 'SYSTEM', id: null, requestId: null } as const;

interface Retired {
  tenant_id: string;
  credential_id: string;
  version: number;
}

/**
 * Ends the grace period of PREVIOUS key versions: state RETIRED, key material destroyed, and the
 * gateways using the credential reload without it. Each batch is one transaction over rows locked
 * with SKIP LOCKED, so overlapping sweeps never retire (or bump) the same version twice.
 */
export async function retirePreviousSweep(deps: RetireSweepDeps, job: Job<JobPayloads['retire-previous-sweep']>) {
  let retired = 0;
  for (;;) {
    const batch = await deps.db.transaction(async (tx) => {
      const rows: Retired[] = await tx
        .query(
          `WITH due AS (
           SELECT id FROM credential_versions
            WHERE state = 'PREVIOUS' AND retire_after <= now()
            ORDER BY retire_after LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE credential_versions v
            SET state = 'RETIRED', kek_version = NULL, wrapped_key = NULL, ciphertext = NULL, fingerprint = NULL,
                retired_at = COALESCE(v.retired_at, now())
           FROM due WHERE v.id = due.id
         RETURNING v.tenant_id, v.credential_id, v.version`,
          [RETIRE_PAGE],
        )
        .then((r: unknown) => (Array.isArray(r) && Array.isArray(r[0]) ? (r[0] as Retired[]) : (r as Retired[])));
      for (const r of rows) {
        const gateways = await bumpGatewaysInTx(tx, r.tenant_id, { credentialId: r.credential_id }, 'CREDENTIAL_ROTATED');
        await auditInTx(tx, SYSTEM, {
          tenantId: r.tenant_id,
          action: 'CREDENTIAL_VERSION_RETIRED',
          targetType: 'CREDENTIAL',
          targetId: r.credential_id,
          details: { version: r.version, reason: 'grace period ended', reloadedGateways: gateways.length },
        });
      }
      return rows;
    });
    retired += batch.length;
    for (const r of batch) await publishCredentialChanged(deps, r.tenant_id, r.credential_id);
    if (batch.length < RETIRE_PAGE) break;
  }
  deps.log.info({ job: job.name, jobId: job.id, retired }, 'retire-previous sweep done');
  return { retired };
}
