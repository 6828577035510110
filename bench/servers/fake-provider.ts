/**
 * The tests' fake provider (a real HTTP server answering instantly) in a process of its own, so
 * its work does not share an event loop with the load generator. Keys to accept arrive over IPC.
 */
import { startFakeProvider } from '../../test/fakes/fake-provider';

async function main(): Promise<void> {
  // argv[2]: a latency for every answer, in ms (the scale scenario's 20 ms provider).
  const fake = await startFakeProvider('127.0.0.1', { delayMs: Number(process.argv[2] ?? 0) || 0 });
  process.on('message', (m: { allow?: string[] }) => {
    for (const key of m.allow ?? []) fake.allow(key);
    process.send?.({ allowed: m.allow?.length ?? 0 });
  });
  process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
  process.send?.({ ready: true, baseUrl: fake.baseUrl });
}

main().catch((error) => {
  process.stderr.write(`fake-provider: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
