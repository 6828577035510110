import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from '../../config';
import { OutboundGate, type Wake } from './outbound-gate';
import { createSlotStore } from './slot-store';

export { OutboundGate, type Admission, type GateRequest, type Wake } from './outbound-gate';
export { MemorySlots, type SlotStore } from './slot-store';
export type { IsolationSettings, Pool } from './slots';

/**
 * The worker's gate, on the queue backend's engine (QUEUE_BACKEND), under QUEUE_PREFIX; `wake`
 * promotes a put-back job when a slot it waits for is released (workers/processors/outbound-slot.ts).
 */
export function createOutboundGate(
  config: Pick<Config, 'queue' | 'redisUrl' | 'outboundIsolation'>,
  db: Pick<DataSource, 'query'>,
  log?: Pick<Logger, 'warn'>,
  wake?: Wake,
): OutboundGate {
  return new OutboundGate(createSlotStore(config, db), config.outboundIsolation, config.queue.prefix, log, wake);
}
