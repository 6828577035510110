import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import { OutboundGate } from './outbound-gate';
import { createSlotStore } from './slot-store';

export { OutboundGate, type Admission, type GateRequest } from './outbound-gate';
export { MemorySlots, type SlotStore } from './slot-store';
export type { IsolationSettings, Pool } from './slots';

/** The worker's gate, on the queue backend's engine (QUEUE_BACKEND), under QUEUE_PREFIX. */
export function createOutboundGate(
  config: Pick<Config, 'queue' | 'redisUrl' | 'outboundIsolation'>,
  db: Pick<DataSource, 'query'>,
  log?: Pick<Logger, 'warn'>,
): OutboundGate {
  return new OutboundGate(createSlotStore(config, db), config.outboundIsolation, config.queue.prefix, log);
}
