/** Baseline: BullMQ jobs that do nothing, at the worker concurrency Keyplane is measured with. */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [redisUrl, prefix, queue, concurrency] = process.argv.slice(2);
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const worker = new Worker(queue, async () => undefined, { connection, prefix, concurrency: Number(concurrency) });

worker
  .waitUntilReady()
  .then(() => process.send?.({ ready: true }))
  .catch((error: Error) => {
    process.stderr.write(`noop-worker: ${error.message}\n`);
    process.exit(1);
  });

process.on('SIGTERM', () => {
  void worker.close().then(() => {
    connection.disconnect();
    process.exit(0);
  });
});
