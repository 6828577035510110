import type { GatewayEntity } from './gateway.entity';

/*
 * A gateway as rotateGatewayKey answered it, for idempotent replays (src/modules/idempotency).
 * The API fields only, listed one by one: never the key hash or the sealed signing secret.
 */

const FIELDS = [
  'id',
  'tenantId',
  'name',
  'slug',
  'description',
  'credentialMode',
  'webhookUrl',
  'redactedKey',
  'configVersion',
  'createdAt',
  'updatedAt',
  'keyRotatedAt',
  'configChangedAt',
  'pulledConfigVersion',
  'pulledAt',
] as const satisfies readonly (keyof GatewayEntity)[];

const DATES = new Set<string>(['createdAt', 'updatedAt', 'keyRotatedAt', 'configChangedAt', 'pulledAt']);

export function gatewaySnapshot(g: GatewayEntity): Record<string, unknown> {
  return Object.fromEntries(FIELDS.map((f) => [f, g[f] instanceof Date ? (g[f] as Date).toISOString() : (g[f] ?? null)]));
}

export function restoreGateway(stored: unknown): GatewayEntity {
  const json = stored as Record<string, unknown>;
  const restored: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const value = json[f] ?? null;
    restored[f] = DATES.has(f) && typeof value === 'string' ? new Date(value) : value;
  }
  return restored as unknown as GatewayEntity;
}
