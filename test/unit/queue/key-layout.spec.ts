import { keyCheckKeys, liveChannel, queueKeyPrefix } from '../../../src/queue/key-layout';
import { QUEUES } from '../../../src/queue/registry';

/** Redis Cluster's key hash slot (CRC16/XMODEM of the hash tag, or the key, mod 16384). */
function slotOf(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('Redis key layout', () => {
  it('keeps one server on the prefix it always had', () => {
    for (const queue of QUEUES) expect(queueKeyPrefix('keyplane', queue, false)).toBe('keyplane');
    expect(liveChannel('keyplane', 'CREDENTIAL_CHANGED', false)).toBe('keyplane:live:CREDENTIAL_CHANGED');
  });

  it('puts every key of a queue in one slot on a cluster, and the queues in different slots', () => {
    const slots = QUEUES.map((queue) => {
      const prefix = queueKeyPrefix('keyplane', queue, true);
      expect(prefix).toBe(`{keyplane-${queue}}`);
      const keys = ['wait', 'active', 'meta', 'events', 'repeat', 'stalled-check', 'de:x', '123', 'readyz'].map((k) => `${prefix}:${queue}:${k}`);
      expect(new Set(keys.map(slotOf)).size).toBe(1);
      return slotOf(keys[0]);
    });
    expect(new Set(slots).size).toBe(QUEUES.length);
  });

  it('puts the three keys of one key-check step in one slot, per tenant', () => {
    const a = keyCheckKeys('keyplane', 'tenant-a', 'token-1');
    expect(new Set(Object.values(a).map(slotOf)).size).toBe(1);
    expect(new Set(Object.values(a)).size).toBe(3);
    const b = keyCheckKeys('keyplane', 'tenant-b', 'token-1');
    expect(b.token).not.toBe(a.token);
    // Tenants spread: many tenants land in many slots.
    const spread = new Set(Array.from({ length: 50 }, (_, i) => slotOf(keyCheckKeys('keyplane', `tenant-${i}`, 't').tenant)));
    expect(spread.size).toBeGreaterThan(40);
  });

  it('keeps every live channel in one slot on a cluster (one SSUBSCRIBE)', () => {
    const channels = ['CREDENTIAL_CHANGED', 'KEY_REUSE_ALERT', 'WEBHOOK_ENDPOINT_DISABLED'].map((e) => liveChannel('keyplane', e, true));
    expect(new Set(channels.map(slotOf)).size).toBe(1);
  });
});
