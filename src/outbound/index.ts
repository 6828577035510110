import type { Config } from '../config';
import { AddressPolicy } from './address-policy';
import { OutboundClient } from './outbound-client';

export { AddressPolicy, type BlockReason } from './address-policy';
export { BlockedAddressError, resolveChecked, guardedLookup, type Resolver } from './guarded-lookup';
export {
  OutboundClient,
  parseOutboundUrl,
  type OutboundFailureClass,
  type OutboundRequest,
  type OutboundResult,
} from './outbound-client';
export { sign, signedHeaders, type WebhookHeaders } from './standard-webhooks';

const clients = new WeakMap<object, OutboundClient>();

/**
 * The guarded client for one loaded config (OUTBOUND_ALLOW), built once per config object so
 * connection pools are shared. A bad allow-list entry throws on first use, i.e. at start-up.
 */
export function outboundFor(config: Pick<Config, 'outboundAllow'>): OutboundClient {
  let client = clients.get(config);
  if (!client) clients.set(config, (client = new OutboundClient(AddressPolicy.fromAllowList(config.outboundAllow))));
  return client;
}
