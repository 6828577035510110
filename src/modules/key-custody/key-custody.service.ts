import type { DataSource } from 'typeorm';
import type { Fingerprinter, SecretBox } from '../../crypto';
import { pepperCounts } from '../alert/pepper-remap';
import { collect, DomainError, NotFoundError } from '../../errors';
import { JOBS } from '../../queue/registry';
import type { RescanStatusReader } from '../alert/rescan-status';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { LIMITS, optionalTextRule } from '../common/rules';
import { enqueueInTx } from '../outbox/outbox.writer';
import { failRun } from './rewrap-run';
import { parseProgress, type RewrapCounts, type RewrapFailure, type RewrapState } from './rewrap-progress';
import { countsUnder, sealedCounts, type SealedCount } from './sealed-rows';

export interface RewrapStatusView {
  jobId: string;
  state: RewrapState;
  targetVersion: number | null;
  requestedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  counts: (RewrapCounts & { kind: string; kekVersion: number })[];
  failures: RewrapFailure[];
  failuresTotal: number;
  reason: string | null;
}

export interface CustodyView {
  currentVersion: number;
  versions: { version: number; current: boolean; inKeyring: boolean; records: number; byKind: { kind: string; count: number }[] }[];
  runningRewraps: RewrapStatusView[];
  currentPepperVersion: number;
  /** Fingerprint pepper versions: in the ring or used by stored fingerprints, with records per table. */
  pepperVersions: { version: number; current: boolean; inKeyring: boolean; records: number; byTable: { table: string; count: number }[] }[];
}

const REWRAP_JOB_ID = /^key-rewrap-[0-9]{1,20}$/;
const LIVE_JOB_STATES = new Set(['WAITING', 'ACTIVE']);

interface RunRow {
  id: string;
  state: RewrapState;
  progress: unknown;
  requested_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** Platform-only key custody: start and follow master-key rewraps, see which KEK versions hold what. */
export class KeyCustodyService {
  constructor(
    private readonly db: DataSource,
    private readonly box: Pick<SecretBox, 'keyVersions' | 'currentKeyVersion'>,
    private readonly reader: Pick<RescanStatusReader, 'find'>,
    private readonly fingerprinter: Pick<Fingerprinter, 'versions' | 'currentVersion'> = { versions: () => [1], currentVersion: 1 },
  ) {}

  /**
   * Queues a rewrap (outbox, like every job) and audits it. Never two at once: a run still queued
   * or running refuses the start with KEY_REWRAP_RUNNING naming its job id; one whose job is gone
   * (failed for good, lost with its Redis) is closed as FAILED first, and the new run redoes
   * whatever it left (rewrapping is idempotent).
   */
  async startRewrap(actor: AuditActor, reason: string | null | undefined, source: 'graphql' | 'cli' = 'graphql'): Promise<{ jobId: string }> {
    collect([optionalTextRule(reason, ['input', 'reason'], LIMITS.description)]);
    const open: RunRow[] = await this.db.query(`SELECT id, state FROM key_rewrap_runs WHERE state IN ('QUEUED', 'RUNNING')`);
    for (const run of open) {
      if (await this.alive(run.id)) throw running(run.id);
      await failRun(this.db, run.id, 'its job was no longer queued or running');
    }
    const payload = { requestedAt: new Date().toISOString() };
    const jobId = JOBS['key-rewrap'].jobId(payload);
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(`INSERT INTO key_rewrap_runs (id, state) VALUES ($1, 'QUEUED')`, [jobId]);
        await enqueueInTx(tx, 'key-rewrap', payload);
        await auditInTx(tx, actor, {
          tenantId: null,
          action: 'KEY_REWRAP_STARTED',
          targetType: 'KEY_REWRAP',
          targetId: jobId,
          details: { source, currentVersion: this.box.currentKeyVersion, ...(reason ? { reason } : {}) },
        });
      });
    } catch (error) {
      // The one-open-run index (or the same id within a millisecond): another start won the race.
      if ((error as { driverError?: { code?: string } }).driverError?.code === '23505') {
        const [other]: { id: string }[] = await this.db.query(`SELECT id FROM key_rewrap_runs WHERE state IN ('QUEUED', 'RUNNING') LIMIT 1`);
        throw running(other?.id ?? jobId);
      }
      throw error;
    }
    return { jobId };
  }

  /** Only rewrap job ids can be read here; any other id is NOT_FOUND. */
  async rewrapStatus(jobId: string): Promise<RewrapStatusView> {
    if (!REWRAP_JOB_ID.test(jobId)) throw new NotFoundError('Key rewrap');
    const [run]: RunRow[] = await this.db.query('SELECT * FROM key_rewrap_runs WHERE id = $1', [jobId]);
    if (!run) throw new NotFoundError('Key rewrap');
    return view(run);
  }

  async custody(): Promise<CustodyView> {
    const counts = await sealedCounts(this.db);
    const checked: { key_version: number }[] = await this.db.query('SELECT key_version FROM kek_check_values');
    const ring = new Set(this.box.keyVersions());
    const all = new Set([...ring, ...counts.map((c) => c.kekVersion), ...checked.map((c) => c.key_version)]);
    const running: RunRow[] = await this.db.query(`SELECT * FROM key_rewrap_runs WHERE state IN ('QUEUED', 'RUNNING') ORDER BY requested_at`);
    const peppers = await pepperCounts(this.db);
    const pepperRing = new Set(this.fingerprinter.versions());
    const pepperCurrent = this.fingerprinter.currentVersion;
    return {
      currentPepperVersion: pepperCurrent,
      pepperVersions: [...new Set([...pepperRing, ...peppers.map((p) => p.pepperVersion)])]
        .sort((a, b) => a - b)
        .map((version) => {
          const mine = peppers.filter((p) => p.pepperVersion === version);
          return {
            version,
            current: version === pepperCurrent,
            inKeyring: pepperRing.has(version),
            records: mine.reduce((n, p) => n + p.count, 0),
            byTable: mine.map((p) => ({ table: p.table, count: p.count })),
          };
        }),
      currentVersion: this.box.currentKeyVersion,
      versions: [...all]
        .sort((a, b) => a - b)
        .map((version) => {
          const mine = counts.filter((c) => c.kekVersion === version);
          return {
            version,
            current: version === this.box.currentKeyVersion,
            inKeyring: ring.has(version),
            records: mine.reduce((n, c) => n + c.count, 0),
            byKind: mine.map((c) => ({ kind: c.kind, count: c.count })),
          };
        }),
      runningRewraps: running.map(view),
    };
  }

  /** Whether `version` may leave the keyring: not current, and no record sealed under it (counts per kind). */
  async retireCheck(version: number): Promise<{ ok: boolean; current: boolean; counts: SealedCount[] }> {
    const counts = (await countsUnder(this.db, [version])).filter((c) => c.count > 0);
    const current = version === this.box.currentKeyVersion;
    return { ok: !current && counts.length === 0, current, counts };
  }

  private async alive(jobId: string): Promise<boolean> {
    const waiting = await this.db.query(`SELECT 1 FROM outbox WHERE sent_at IS NULL AND job_name = 'key-rewrap' AND job_id = $1 LIMIT 1`, [jobId]);
    if (waiting.length > 0) return true;
    const job = await this.reader.find(jobId);
    return !!job && LIVE_JOB_STATES.has(job.state);
  }
}

function running(jobId: string): DomainError {
  return new DomainError('KEY_REWRAP_RUNNING', `A key rewrap is already queued or running (job ${jobId}). Follow it with keyRewrap.`);
}

function view(run: RunRow): RewrapStatusView {
  const p = parseProgress(run.progress);
  const counts = Object.entries(p.kinds).flatMap(([kind, k]) =>
    Object.entries(k.byVersion).map(([v, c]) => ({ kind, kekVersion: Number(v), ...c, changed: c.changed ?? 0 })),
  );
  return {
    jobId: run.id,
    state: run.state,
    targetVersion: p.targetVersion,
    requestedAt: run.requested_at,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    counts: counts.sort((a, b) => a.kind.localeCompare(b.kind) || a.kekVersion - b.kekVersion),
    failures: p.failures,
    failuresTotal: p.failuresTotal,
    reason: p.reason ?? null,
  };
}
