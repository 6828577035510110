import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Config } from '../../src/config';
import type { Fingerprinter, SecretBox } from '../../src/crypto';
import type { EventPublisher } from '../../src/events/types';
import type { SecurityEvents } from '../../src/modules/security/security-events';
import type { ConfirmedOutcomes } from '../../src/modules/credential/credential-lifecycle.confirm';
import type { Queues } from '../../src/queue/queues';
import type { OutboundGate } from '../../src/outbound/isolation';
import type { VersionReader } from './version-reader';

/** What processors may use. Each processor takes only the fields it needs (Pick<>). */
export interface ProcessorDeps {
  db: DataSource;
  box: SecretBox;
  fingerprinter: Fingerprinter;
  /** For fan-out from sweeps and follow-up work; same prefix as the workers. */
  queues: Queues;
  events: EventPublisher;
  log: Logger;
  /** Forged jobs and keys that do not decrypt are security events (audit rows and a metric). */
  security: SecurityEvents;
  config: Readonly<Config>;
  /** Provider request timeout (config.providerTimeoutMs; tests shorten it). */
  timeoutMs: number;
  /** Group commit of "the serving key still works" outcomes (one per process). */
  confirmed: ConfirmedOutcomes;
  /** Batched reads of the versions validation jobs check (one per process). */
  versions: VersionReader;
  /** Outbound slots per tenant and destination, shared by every worker process (src/outbound/isolation). */
  gate: OutboundGate;
}
