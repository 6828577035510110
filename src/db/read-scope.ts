import { AsyncLocalStorage } from 'node:async_hooks';

/** A replica the router judged fresh enough for one request (src/db/replicas.ts). */
export interface ReplicaTarget {
  readonly name: string;
}

/**
 * Where one GraphQL request's SELECTs go. Every request starts on the primary (authentication,
 * token lookups and anything before the operation is known read there); the router sets `replica`
 * once it knows the operation is a query and a replica is fresh enough for this tenant.
 */
export interface ReadRoute {
  replica: ReplicaTarget | null;
}

export const readScope = new AsyncLocalStorage<ReadRoute>();

/** The replica the current request may read from, or null: the primary. */
export function currentReplica(): ReplicaTarget | null {
  return readScope.getStore()?.replica ?? null;
}
