import { randomUUID } from 'node:crypto';
import { JOBS, jobOptions, QUEUES, type JobName, type JobPayloads } from '../../../src/queue/registry';
import { PROCESSORS } from '../../../workers/processors';

/** STYLE 8 and 10: one typed registry, exactly one processor per job, deterministic ids without ':'. */
const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const names = Object.keys(JOBS) as JobName[];

// The same ids across jobs, so two jobs of one queue that built the same id would show up here.
const [tenantId, objectId, otherId] = [randomUUID(), randomUUID(), randomUUID()];

/** Per job: a payload, and one that is different work (a different id is expected, unless a singleton). */
const SAMPLES: { [N in JobName]: [JobPayloads[N], JobPayloads[N] | null] } = {
  'validate-credential': [
    { tenantId, credentialId: objectId, version: 1 },
    { tenantId, credentialId: objectId, version: 1, sweep: '1767225600000' },
  ],
  'fingerprint-credential': [
    { tenantId, credentialId: objectId, version: 1 },
    { tenantId, credentialId: objectId, version: 2 },
  ],
  'gateway-reload': [
    { tenantId, gatewayId: objectId, configVersion: 3, reason: 'CREDENTIAL_ATTACHED' },
    { tenantId, gatewayId: otherId, configVersion: 3, reason: 'CREDENTIAL_ATTACHED' },
  ],
  'deliver-webhook': [
    { tenantId, deliveryId: objectId, replay: 0 },
    { tenantId, deliveryId: objectId, replay: 1 },
  ],
  // Singletons: one sweep at a time, whatever triggered it.
  'revalidation-sweep': [{}, null],
  'rotation-sweep': [{}, null],
  'retire-previous-sweep': [{}, null],
  'idempotency-sweep': [{}, null],
  'audit-checkpoint': [{}, null],
  'fingerprint-rescan': [{ requestedAt: '2026-01-01T00:00:00.000Z' }, { requestedAt: '2026-01-01T00:00:01.000Z' }],
  'key-rewrap': [{ requestedAt: '2026-01-01T00:00:00.000Z' }, { requestedAt: '2026-01-01T00:00:01.000Z' }],
  'fingerprint-rekey': [{ requestedAt: '2026-01-01T00:00:00.000Z' }, { requestedAt: '2026-01-01T00:00:01.000Z' }],
  'reconcile-queues': [{ requestedAt: '2026-01-01T00:00:00.000Z' }, { requestedAt: '2026-01-01T00:00:01.000Z' }],
};

const idOf = <N extends JobName>(name: N, payload: JobPayloads[N]) => JOBS[name].jobId(payload);

describe('job registry', () => {
  it('has exactly one processor for each job, and no processor for anything else', () => {
    expect(Object.keys(PROCESSORS).sort()).toEqual([...names].sort());
  });

  it.each(names)('%s has a processor written (not null)', (name) => {
    expect(typeof PROCESSORS[name]).toBe('function');
  });

  it('gives each job its own processor function (no copy-paste wiring of one job to another)', () => {
    const written = names.map((n) => PROCESSORS[n]).filter(Boolean);
    expect(new Set(written).size).toBe(written.length);
  });

  it('names queues and jobs in kebab-case without ":" and routes every job to a known queue', () => {
    for (const queue of QUEUES) expect(queue).toMatch(KEBAB);
    for (const name of names) {
      expect(name).toMatch(KEBAB);
      expect(QUEUES).toContain(JOBS[name].queue);
    }
    // A queue no job uses would get a worker with nothing to do, or none at all.
    for (const queue of QUEUES) expect(names.filter((n) => JOBS[n].queue === queue)).not.toHaveLength(0);
  });

  it.each(names)('%s: the job id is deterministic, without ":", and what the producer uses', (name) => {
    const [payload, different] = SAMPLES[name] as [JobPayloads[JobName], JobPayloads[JobName] | null];
    const id = idOf(name, payload);
    expect(id).not.toContain(':');
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    // A copy of the same payload (as the relay reads it back from jsonb) gives the same id.
    expect(idOf(name, JSON.parse(JSON.stringify(payload)))).toBe(id);
    expect(jobOptions(name, payload).jobId).toBe(id);
    if (different) {
      expect(idOf(name, different)).not.toBe(id);
      expect(idOf(name, different)).not.toContain(':');
    }
    const dedup = jobOptions(name, payload).deduplication?.id;
    if (dedup !== undefined) expect(dedup).not.toContain(':');
  });

  it('never gives two different jobs of one queue the same id', () => {
    const ids = names.flatMap((name) =>
      (SAMPLES[name] as (JobPayloads[JobName] | null)[]).filter(Boolean).map((p) => `${JOBS[name].queue}/${idOf(name, p!)}`),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });
});
