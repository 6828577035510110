import type { QueueName } from './registry';

/**
 * Where Keyplane's keys live in Redis, and why, for one server and for a Redis Cluster.
 *
 * A cluster hashes the part of a key between the first "{" and the next "}" (the hash tag), or the
 * whole key, to one of 16384 slots, each served by one shard; a Lua script or a MULTI may only touch
 * keys of one slot. BullMQ's scripts touch many keys of one queue at once, so every key of a queue
 * must share a slot (BullMQ's cluster guide: a hash tag in the prefix). One tag for the whole
 * deployment would put every queue on one shard; a tag per queue (`{keyplane-credentials}`) keeps
 * each queue's scripts valid and spreads the queues over the shards. No BullMQ script spans two
 * queues (flows are not used), so nothing needs two queues in one slot.
 *
 * On one server the prefix stays as it always was (`keyplane:credentials:...`): existing queues
 * keep working after an upgrade. Moving to a cluster is a new store anyway (README "Running at scale").
 */
export function queueKeyPrefix(prefix: string, queue: QueueName, cluster: boolean): string {
  return cluster ? `{${prefix}-${queue}}` : prefix;
}

/**
 * The key-check limiter's three keys (tenant bucket, token bucket, refusal counter) go through one
 * Lua script, so they share a hash tag: the tenant. Tenants spread over the shards; one tenant's
 * checks stay on one. An API token belongs to one tenant, so its bucket keyed under that tenant is
 * the same bucket as before; the platform admin token acting in a tenant is counted per tenant
 * (bounded by that tenant's bucket too). Used on one server and on PostgreSQL as well: one layout.
 */
export function keyCheckKeys(prefix: string, tenant: string, tokenId: string): Record<'tenant' | 'token' | 'refused', string> {
  const tag = `${prefix}:key-checks:{${tenant}}`;
  return { tenant: `${tag}:tenant`, token: `${tag}:token:${tokenId}`, refused: `${tag}:refused:${tokenId}` };
}

/**
 * Live events on a cluster travel on sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7): a message goes
 * to the shard owning the channel's slot only, instead of being broadcast over the cluster bus to
 * every node as classic PUBLISH is. All event channels share one hash tag so one SSUBSCRIBE covers
 * them (a sharded subscribe may not span slots); the volume is a few messages per changed
 * credential, which one shard carries easily.
 */
export function liveChannel(prefix: string, event: string, cluster: boolean): string {
  return cluster ? `{${prefix}-live}:${event}` : `${prefix}:live:${event}`;
}
