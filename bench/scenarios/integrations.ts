import { startScript, type Server } from '../harness/keyplane';
import { compare, graphqlLoad, httpSide } from '../harness/load';
import { freePort } from '../harness/proc';
import type { Figure } from '../harness/report';
import type { Scenario } from './context';

const HELLO = '{ hello }';

async function startIntegration(kind: 'standalone' | 'fastify' | 'express5'): Promise<Server & { path: string }> {
  const port = await freePort();
  const { child } = await startScript(`apollo-${kind}`, 'baselines/integration-server.js', [String(port), kind]);
  return { child, url: `http://127.0.0.1:${port}`, path: kind === 'standalone' ? '/' : '/graphql' };
}

/**
 * The question when the layer target is missed: which HTTP integration can carry Apollo at
 * the speed of Apollo standalone? Each answers { hello } with nothing else, against standalone.
 */
export const integrations: Scenario = {
  id: 'integrations',
  async run(ctx) {
    const standalone = await startIntegration('standalone');
    const figures: Figure[] = [];
    try {
      for (const kind of ['fastify', 'express5'] as const) {
        const title = `Apollo { hello } on ${kind === 'fastify' ? 'fastify 5 (@as-integrations/fastify, used by Keyplane)' : 'express 5 (@as-integrations/express5)'} (info)`;
        ctx.log(title);
        const mounted = await startIntegration(kind);
        try {
          const c = ctx.o.connections;
          const result = await compare(
            httpSide(graphqlLoad(`${mounted.url}${mounted.path}`, null, HELLO, {}, c), mounted.child),
            httpSide(graphqlLoad(`${standalone.url}${standalone.path}`, null, HELLO, {}, c), standalone.child),
            { ...ctx.o, log: ctx.log },
          );
          figures.push({
            id: `integration-${kind}`,
            title,
            status: 'measured',
            unit: 'req/s',
            subject: result.subject,
            baselineTitle: 'Apollo standalone { hello }',
            baseline: result.baseline,
            ratio: result.ratio,
            targets: [],
          });
        } finally {
          await mounted.child.stop();
        }
      }
    } finally {
      await standalone.child.stop();
    }
    return figures;
  },
};
