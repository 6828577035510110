import type { DataSource } from 'typeorm';
import { collect, NotFoundError } from '../../errors';
import { JOBS } from '../../queue/registry';
import type { RescanState } from '../alert/key-reuse.rules';
import type { RescanStatusReader } from '../alert/rescan-status';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { LIMITS, optionalTextRule } from '../common/rules';
import { enqueueInTx } from '../outbox/outbox.writer';

export interface PepperRekeyStatusView {
  jobId: string;
  state: RescanState;
  processed: number | null;
  total: number | null;
  rekeyed: number | null;
  failed: number | null;
}

const REKEY_JOB_ID = /^fingerprint-rekey-[0-9]{1,20}$/;

/**
 * Platform admins start a fingerprint pepper rekey (through the outbox, like every job) and follow
 * it. Two runs at once do no harm (every write is a compare-and-set on the old fingerprint), and a
 * run started after a lost one continues with what is left, so no run table is needed.
 */
export class PepperRekeyService {
  constructor(
    private readonly db: DataSource,
    private readonly reader: Pick<RescanStatusReader, 'find'>,
    private readonly currentPepperVersion: number,
  ) {}

  async start(actor: AuditActor, reason: string | null | undefined): Promise<{ jobId: string }> {
    collect([optionalTextRule(reason, ['input', 'reason'], LIMITS.description)]);
    const payload = { requestedAt: new Date().toISOString() };
    const jobId = JOBS['fingerprint-rekey'].jobId(payload);
    await this.db.transaction(async (tx) => {
      await enqueueInTx(tx, 'fingerprint-rekey', payload);
      await auditInTx(tx, actor, {
        tenantId: null,
        action: 'PEPPER_REKEY_STARTED',
        targetType: 'PEPPER_REKEY',
        targetId: jobId,
        details: { currentPepperVersion: this.currentPepperVersion, ...(reason ? { reason } : {}) },
      });
    });
    return { jobId };
  }

  /** Only rekey job ids can be read here; any other id is NOT_FOUND. */
  async status(jobId: string): Promise<PepperRekeyStatusView> {
    if (!REKEY_JOB_ID.test(jobId)) throw new NotFoundError('Pepper rekey');
    const job = await this.reader.find(jobId);
    if (job) return { jobId, ...job, rekeyed: job.rekeyed ?? null, failed: job.failed ?? null };
    const waiting = await this.db.query(`SELECT 1 FROM outbox WHERE sent_at IS NULL AND job_name = 'fingerprint-rekey' AND job_id = $1 LIMIT 1`, [
      jobId,
    ]);
    if (waiting.length > 0) return { jobId, state: 'QUEUED', processed: null, total: null, rekeyed: null, failed: null };
    throw new NotFoundError('Pepper rekey');
  }
}
