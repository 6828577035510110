import type { DataSource } from 'typeorm';
import { GroupCommit } from '../../db/group-commit';
import type { KeyTestResult } from '../../providers/types';
import type { CheckedVersion, Confirmed, OutcomeConfirmer } from './credential-lifecycle.deps';

interface Pending {
  v: CheckedVersion;
  result: KeyTestResult;
  resolve(confirmed: Confirmed): void;
}

/** Rows per statement: bounds the statement's size and the locks one transaction holds. */
const MAX_BATCH = 200;

/*
 * Row conditions are re-checked under the row lock (READ COMMITTED), so a concurrent rotation,
 * revocation or status change makes a row match nothing and its job takes the full path instead.
 * Rows are locked in id order, so two batches (two worker processes) cannot deadlock.
 */
const CONFIRM = `
WITH x AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::text[])
           AS x(tenant_id, id, version, outcome, models, message)
), target AS (
  SELECT c.id, c.tenant_id, x.version, x.outcome, x.models, x.message,
         (c.last_validation_outcome IS DISTINCT FROM x.outcome
          OR to_jsonb(c.last_validation_models) IS DISTINCT FROM x.models::jsonb) AS changed
    FROM credentials c
    JOIN x ON c.tenant_id = x.tenant_id AND c.id = x.id
   WHERE c.revoked_at IS NULL AND c.status = 'ACTIVE' AND c.current_version = x.version
     AND EXISTS (SELECT 1 FROM credential_versions v
                  WHERE v.tenant_id = x.tenant_id AND v.credential_id = x.id AND v.version = x.version AND v.state = 'ACTIVE'
                    -- a never-validated version takes the full path, which admits it to duplicate detection
                    AND v.validated_at IS NOT NULL)
   ORDER BY c.id
     FOR UPDATE OF c
), version_result AS (
  -- The serving version's own result too (credential_versions.last_*), as the full path records it.
  UPDATE credential_versions v
     SET last_validation_outcome = t.outcome, last_validated_at = now(),
         last_validation_models = CASE WHEN t.models IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(t.models::jsonb)) END,
         last_validation_message = t.message
    FROM target t
   WHERE v.tenant_id = t.tenant_id AND v.credential_id = t.id AND v.version = t.version
), resolved AS (
  -- A decisive answer ends the version's "could not check" alert (src/modules/alert/check-alert.writer.ts).
  UPDATE credential_check_alerts a
     SET status = 'RESOLVED', resolved_at = now(), updated_at = now()
    FROM target t
   WHERE a.tenant_id = t.tenant_id AND a.credential_id = t.id AND a.version = t.version AND a.status = 'OPEN'
)
UPDATE credentials c
   SET last_validation_outcome = t.outcome, last_validated_at = now(),
       last_validation_models = CASE WHEN t.models IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(t.models::jsonb)) END,
       last_validation_message = t.message, updated_at = now()
  FROM target t
 WHERE c.id = t.id
RETURNING c.id, t.changed`;

/**
 * Records "the serving key still works" for many jobs in one statement, so one commit (one WAL
 * flush) covers them all: the daily re-validation of every key is almost only this. A job's
 * promise settles after the commit, so no job completes before its outcome is durable.
 * A failed statement resolves its jobs with null: each then records through the full path.
 */
export class ConfirmedOutcomes implements OutcomeConfirmer {
  private readonly commits: GroupCommit<Pending>;

  constructor(private readonly db: Pick<DataSource, 'query'>) {
    this.commits = new GroupCommit((batch) => this.write(batch), onePerCredential);
  }

  /** Resolves null when the row no longer matches (or the batch failed): the caller takes the full path. */
  record(v: CheckedVersion, result: KeyTestResult): Promise<Confirmed> {
    return new Promise((resolve) => this.commits.add({ v, result, resolve }));
  }

  private async write(batch: Pending[]): Promise<void> {
    let recorded: Map<string, boolean>;
    try {
      const rows: unknown[] = await this.db.query(CONFIRM, [
        batch.map((b) => b.v.tenantId),
        batch.map((b) => b.v.credentialId),
        batch.map((b) => b.v.version),
        batch.map((b) => b.result.outcome),
        // text[] per row does not survive unnest (arrays flatten): each row's list travels as JSON.
        batch.map((b) => (b.result.models == null ? null : JSON.stringify(b.result.models))),
        batch.map((b) => b.result.message),
      ]);
      // node-postgres through TypeORM: an UPDATE … RETURNING comes back as [rows, count].
      const returned = (Array.isArray(rows[0]) ? rows[0] : rows) as { id: string; changed: boolean }[];
      recorded = new Map(returned.map((r) => [r.id, r.changed]));
    } catch {
      recorded = new Map();
    }
    for (const item of batch) {
      const changed = recorded.get(item.v.credentialId);
      item.resolve(changed === undefined ? null : { changed });
    }
  }
}

/** Up to MAX_BATCH items, at most one per credential (a second one waits for the next statement). */
function onePerCredential(queue: readonly Pending[]): { batch: Pending[]; rest: Pending[] } {
  const batch: Pending[] = [];
  const rest: Pending[] = [];
  const seen = new Set<string>();
  for (const item of queue) {
    if (batch.length < MAX_BATCH && !seen.has(item.v.credentialId)) {
      seen.add(item.v.credentialId);
      batch.push(item);
    } else {
      rest.push(item);
    }
  }
  return { batch, rest };
}
