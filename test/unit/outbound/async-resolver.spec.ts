import { createSocket, type Socket } from 'node:dgram';
import { pbkdf2 } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { asyncResolver, readHosts } from '../../../src/outbound/async-resolver';
import { reasonOf } from '../../../src/outbound/failures';

/** A DNS server on loopback that reads every query and never answers (a tenant's hostile zone). */
async function silentDns(): Promise<{ server: string; queries: () => number; close: () => Promise<void> }> {
  const socket: Socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => count++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries: () => count,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

describe('asyncResolver', () => {
  it('gives up on a name that never answers at its timeout, with a DNS reason', async () => {
    const dns = await silentDns();
    try {
      const resolve = asyncResolver({ timeoutMs: 300, servers: [dns.server], hostsFile: null });
      const start = performance.now();
      const error = await resolve('hooks.never-answers.test').then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      const ms = performance.now() - start;
      expect(error?.code).toBe('DNS_ETIMEOUT');
      expect(reasonOf(error!.code!)).toBe('dns');
      expect(ms).toBeGreaterThanOrEqual(280);
      expect(ms).toBeLessThan(2_000);
      expect(dns.queries()).toBeGreaterThan(0); // it did ask the hostile server
    } finally {
      await dns.close();
    }
  });

  it("hanging names hold no thread of libuv's pool: other pool work runs at once", async () => {
    const dns = await silentDns();
    const work = promisify(pbkdf2);
    const poolTask = async () => {
      const start = performance.now();
      await Promise.all(Array.from({ length: 4 }, () => work('x', 'salt', 1_000, 32, 'sha256')));
      return performance.now() - start;
    };
    try {
      const unloaded = await poolTask();
      const resolve = asyncResolver({ timeoutMs: 1_500, servers: [dns.server], hostsFile: null });
      // Far more hanging lookups than the pool has threads (4), as a tenant with many webhook URLs would cause.
      const hanging = Array.from({ length: 32 }, (_, i) => resolve(`hook-${i}.never-answers.test`).catch(() => null));
      const loaded = await poolTask();
      // With dns.lookup (getaddrinfo on the pool) this would wait for the lookups: 1.5 s and more.
      expect(loaded).toBeLessThan(Math.max(250, unloaded * 5));
      await Promise.all(hanging);
    } finally {
      await dns.close();
    }
  });

  it('answers names of the hosts file without asking any server, as getaddrinfo would', async () => {
    const dns = await silentDns();
    const dir = mkdtempSync(join(tmpdir(), 'kp-hosts-'));
    const file = join(dir, 'hosts');
    writeFileSync(file, '# comment\n10.1.2.3  internal.example.test  alias.test\n::1 six.test # trailing\nnot-an-ip broken.test\n');
    try {
      const resolve = asyncResolver({ timeoutMs: 300, servers: [dns.server], hostsFile: file });
      expect(await resolve('Internal.Example.Test.')).toEqual([{ address: '10.1.2.3', family: 4 }]);
      expect(await resolve('six.test')).toEqual([{ address: '::1', family: 6 }]);
      expect(dns.queries()).toBe(0);
      expect(readHosts(file).has('broken.test')).toBe(false);
      expect(readHosts(join(dir, 'missing')).size).toBe(0);
    } finally {
      await dns.close();
    }
  });
});
