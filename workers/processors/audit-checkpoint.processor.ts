import type { Job } from 'bullmq';
import { auditSigner } from '../../src/config';
import { AuditIntegrityService } from '../../src/modules/audit/audit-integrity.service';
import type { JobPayloads } from '../../src/queue/registry';
import type { ProcessorDeps } from './deps';

export type AuditCheckpointDeps = Pick<ProcessorDeps, 'db' | 'log' | 'config'>;

/**
 * Signs the head of every audit chain that moved (docs/audit.md "Checkpoints"). Each signed
 * checkpoint is also logged, so a copy lives outside the database. A chain whose new rows do not
 * verify is not signed: logged at error level, every run, until someone looks.
 */
export async function auditCheckpoint(deps: AuditCheckpointDeps, job: Job<JobPayloads['audit-checkpoint']>) {
  const run = await new AuditIntegrityService(deps.db, auditSigner(deps.config)).checkpoint();
  for (const c of run.signed) {
    deps.log.info(
      { chain: c.tenantId ?? 'platform', seq: c.seq, hash: c.hash, keyVersion: c.keyVersion, signature: c.signature, signedAt: c.signedAt },
      'audit checkpoint signed',
    );
  }
  for (const r of run.refused) {
    deps.log.error({ chain: r.tenantId ?? 'platform', break: r.break }, 'audit chain broken: checkpoint refused');
  }
  deps.log.info({ job: job.name, jobId: job.id, signed: run.signed.length, refused: run.refused.length }, 'audit checkpoint done');
  return { signed: run.signed.length, refused: run.refused.length };
}
