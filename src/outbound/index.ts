import type { Config } from '../config';
import { asyncResolver } from './async-resolver';
import { OutboundClient } from './outbound-client';
import { OutboundPolicy } from './outbound-policy';

export { AddressPolicy, type BlockReason } from './address-policy';
export { DestinationPolicy, BASELINE_DESTINATION } from './destination-policy';
export { FAILURE_REASONS, type FailureReason, type OutboundFailureEvent, type OutboundTag } from './failures';
export { BlockedAddressError, resolveChecked, guardedLookup, type Resolver } from './guarded-lookup';
export { OutboundClient, type OutboundFailureClass, type OutboundRequest, type OutboundResult } from './outbound-client';
export { OutboundPolicy, parseOutboundUrl, type PolicyRefusal } from './outbound-policy';
export { sign, signedHeaders, type WebhookHeaders } from './standard-webhooks';
export { logOutboundPolicy, watchOutbound } from './telemetry';

const policies = new WeakMap<object, OutboundPolicy>();
const clients = new WeakMap<object, OutboundClient>();

/** The outbound policy of one loaded config, built once (config.ts already validated its entries). */
export function outboundPolicyFor(config: Pick<Config, 'outbound'>): OutboundPolicy {
  let policy = policies.get(config);
  if (!policy) policies.set(config, (policy = OutboundPolicy.fromConfig(config)));
  return policy;
}

/** The guarded client for one loaded config, built once per config object so connection pools are shared. */
export function outboundFor(config: Pick<Config, 'outbound'>): OutboundClient {
  let client = clients.get(config);
  if (!client) {
    const resolve = asyncResolver({ timeoutMs: config.outbound.dnsTimeoutMs, servers: config.outbound.dnsServers });
    clients.set(config, (client = new OutboundClient(outboundPolicyFor(config), resolve)));
  }
  return client;
}
