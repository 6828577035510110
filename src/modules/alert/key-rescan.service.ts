import type { DataSource } from 'typeorm';
import { collect, NotFoundError } from '../../errors';
import { JOBS } from '../../queue/registry';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { LIMITS, optionalTextRule } from '../common/rules';
import { enqueueInTx } from '../outbox/outbox.writer';
import type { RescanState } from './key-reuse.rules';
import type { RescanStatusReader } from './rescan-status';

export interface RescanStatusView {
  jobId: string;
  state: RescanState;
  processed: number | null;
  total: number | null;
}

const RESCAN_JOB_ID = /^fingerprint-rescan-[0-9]{1,20}$/;

/** Platform admins start a full key rescan (through the outbox, like every job) and follow it. */
export class KeyRescanService {
  constructor(
    private readonly db: DataSource,
    private readonly reader: Pick<RescanStatusReader, 'find' | 'close'>,
  ) {}

  async start(actor: AuditActor, reason: string | null | undefined): Promise<{ jobId: string }> {
    collect([optionalTextRule(reason, ['input', 'reason'], LIMITS.description)]);
    const payload = { requestedAt: new Date().toISOString() };
    const jobId = JOBS['fingerprint-rescan'].jobId(payload);
    await this.db.transaction(async (tx) => {
      await enqueueInTx(tx, 'fingerprint-rescan', payload);
      await auditInTx(tx, actor, {
        tenantId: null,
        action: 'KEY_RESCAN_STARTED',
        targetType: 'KEY_RESCAN',
        targetId: jobId,
        details: reason ? { reason } : {},
      });
    });
    return { jobId };
  }

  /** Only rescan jobs can be read here; any other id is NOT_FOUND. */
  async status(jobId: string): Promise<RescanStatusView> {
    if (!RESCAN_JOB_ID.test(jobId)) throw new NotFoundError('Key rescan');
    const job = await this.reader.find(jobId);
    if (job) return { jobId, ...job };
    // Committed but not yet relayed to the queue.
    const waiting = await this.db.query(`SELECT 1 FROM outbox WHERE sent_at IS NULL AND job_name = 'fingerprint-rescan' AND job_id = $1 LIMIT 1`, [
      jobId,
    ]);
    if (waiting.length > 0) return { jobId, state: 'QUEUED', processed: null, total: null };
    throw new NotFoundError('Key rescan');
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}
