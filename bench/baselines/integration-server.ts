/**
 * The same Apollo Server answering { hello }, mounted three ways: standalone (Apollo's own
 * node:http handler, the baseline), on fastify 5 with @as-integrations/fastify (what
 * Keyplane uses), and on express 5 with @as-integrations/express5. Same settings as hello-server
 * (CSRF prevention on, no batching, no introspection), no auth and no database: what each HTTP
 * integration costs by itself.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import Fastify from 'fastify';

async function main(): Promise<void> {
  const [portArg, kind] = process.argv.slice(2);
  const port = Number(portArg);
  const apollo = () =>
    new ApolloServer({
      typeDefs: 'type Query { hello: String }',
      resolvers: { Query: { hello: () => 'world' } },
      csrfPrevention: true,
      allowBatchedHttpRequests: false,
      introspection: false,
    });
  if (kind === 'standalone') {
    await startStandaloneServer(apollo(), { listen: { host: '127.0.0.1', port } });
  } else if (kind === 'fastify') {
    const app = Fastify({ logger: false });
    const server = apollo();
    server.addPlugin(fastifyApolloDrainPlugin(app));
    await server.start();
    await app.register(fastifyApollo(server));
    await app.listen({ host: '127.0.0.1', port });
  } else if (kind === 'express5') {
    const app = express();
    const server = apollo();
    await server.start();
    app.use('/graphql', express.json(), expressMiddleware(server));
    await new Promise<void>((resolve) => app.listen(port, '127.0.0.1', () => resolve()));
  } else {
    throw new Error(`unknown integration ${kind}`);
  }
  process.send?.({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`integration-server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
