import { randomBytes } from 'node:crypto';
import { RUN_PREFIX } from '../harness/env';
import { benchQueues, startApi, startHello, startWorker } from '../harness/keyplane';
import { rssMb, sleep, type Child } from '../harness/proc';
import type { Figure } from '../harness/report';
import type { Scenario } from './context';

const IDLE_MS = 5_000;
const LIMIT_MB = 150;

async function idle(child: Child): Promise<number> {
  await sleep(IDLE_MS);
  child.assertAlive();
  const mb = rssMb(child.pid);
  if (mb === null) throw new Error(`cannot read the RSS of ${child.name}`);
  return mb;
}

function figure(id: string, title: string, mb: number, reference: number): Figure {
  return {
    id,
    title,
    status: 'measured',
    unit: 'MB',
    value: mb,
    baselineTitle: 'Apollo standalone { hello }, for reference',
    baselineValue: reference,
    targets: [{ label: `<= ${LIMIT_MB} MB`, met: mb <= LIMIT_MB }],
  };
}

/** Fresh processes, started and left idle for 5 s: what each costs before any work. */
export const idleRss: Scenario = {
  id: 'idle-rss',
  async run(ctx) {
    const prefix = `${RUN_PREFIX}-idle-${randomBytes(2).toString('hex')}`;
    const hello = await startHello();
    const api = await startApi('api-idle');
    const worker = await startWorker('worker-idle', prefix);
    try {
      const [helloMb, apiMb, workerMb] = await Promise.all([idle(hello.child), idle(api.child), idle(worker)]);
      ctx.log(`  idle RSS: API ${apiMb.toFixed(0)} MB, worker ${workerMb.toFixed(0)} MB, hello ${helloMb.toFixed(0)} MB`);
      return [
        figure('idle-rss-api', 'Idle RSS, API process', apiMb, helloMb),
        figure('idle-rss-worker', 'Idle RSS, worker process', workerMb, helloMb),
      ];
    } finally {
      await Promise.all([hello.child.stop(), api.child.stop(), worker.stop()]);
      await benchQueues(prefix).close();
    }
  },
};
