import type { QueueBackend } from '../src/queue/backend';
import type { QueueName } from '../src/queue/registry';

/**
 * Redis replicates asynchronously: a master that dies after accepting a job and before any replica
 * received it takes the job with it, while the outbox row already says sent (docs/scale.md "Known
 * gap"). With QUEUE_REPLICA_ACKS the relay asks, after adding a batch, that many replicas to hold
 * what it wrote (WAIT), and marks the rows sent only if they do; otherwise its transaction rolls
 * back and the rows are relayed again: the deterministic job id makes re-adding a job that survived
 * a no-op, and re-creates one that did not.
 */
export class ReplicationNotConfirmed extends Error {
  override name = 'ReplicationNotConfirmed';
  constructor(queue: string, acked: number, wanted: number, timeoutMs: number) {
    super(`queue ${queue}: ${acked} of ${wanted} Redis replica(s) acknowledged the relayed jobs within ${timeoutMs} ms`);
  }
}

export type ConfirmReplication = (queues: QueueName[]) => Promise<void>;

export function replicaAcks(backend: QueueBackend, settings: { replicas: number; timeoutMs: number }): ConfirmReplication {
  return async (queues) => {
    for (const name of queues) {
      const acked = (await backend.replicasHolding?.(name, settings.replicas, settings.timeoutMs)) ?? settings.replicas;
      if (acked < settings.replicas) throw new ReplicationNotConfirmed(name, acked, settings.replicas, settings.timeoutMs);
    }
  };
}
