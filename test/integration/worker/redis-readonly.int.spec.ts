import { Redis } from 'ioredis';
import { createRedis } from '../../../src/queue/connection';
import { killAllPrivateRedis, startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';

/*
 * A failover behind one endpoint (a managed Redis's primary endpoint, Sentinel-less DNS): the server
 * a connection holds turns into a replica and answers writes with READONLY. Keyplane's connections
 * reconnect and resend instead of surfacing the error (src/queue/connection.ts reconnectOnReadOnly).
 */
let primary: PrivateRedis;
let demoted: PrivateRedis;
let admin: Redis;

beforeAll(async () => {
  primary = await startPrivateRedis();
  demoted = await startPrivateRedis();
  admin = new Redis(demoted.url);
});
afterAll(async () => {
  admin.disconnect();
  await killAllPrivateRedis();
});

it('a write that meets READONLY is retried on a new connection and lands once the endpoint is writable again', async () => {
  const worker = createRedis(demoted.url, 'worker');
  try {
    await worker.set('before', '1');
    // The server behind the endpoint is demoted, then promoted again a little later (the failover).
    await admin.replicaof('127.0.0.1', String(primary.port));
    const write = worker.set('during', '2');
    await new Promise((r) => setTimeout(r, 300));
    await admin.replicaof('NO', 'ONE');
    await expect(write).resolves.toBe('OK');
    expect(await admin.get('during')).toBe('2');
  } finally {
    worker.disconnect();
  }
});

it('without the retry the same write fails with READONLY (what the setting prevents)', async () => {
  await admin.replicaof('127.0.0.1', String(primary.port));
  const plain = new Redis(demoted.url, { maxRetriesPerRequest: 1 });
  try {
    await expect(plain.set('plain', '1')).rejects.toThrow(/READONLY/);
  } finally {
    plain.disconnect();
    await admin.replicaof('NO', 'ONE');
  }
});
