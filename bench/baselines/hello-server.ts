/**
 * Baseline: Apollo Server standalone answering { hello }, the floor any GraphQL-over-HTTP layer
 * stands on. Settings match the API where they cost time (CSRF prevention on, no batching).
 * Given a captured credentials page (argv[3]), it also serves that exact page from memory: the cost
 * of executing and serializing a response of that shape, with no database, auth or ORM.
 */
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const typeDefs = `
  type Query { hello: String credentials(tenantId: ID!, first: Int): CredentialConnection }
  type CredentialConnection { edges: [CredentialEdge!]! pageInfo: PageInfo! }
  type CredentialEdge { cursor: String! node: Credential! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type Credential { id: ID! label: String! status: String! redactedKey: String! rotateBy: String! provider: Provider! lastValidation: LastValidation }
  type Provider { slug: String! name: String! }
  type LastValidation { outcome: String! checkedAt: String! }
`;

async function main(): Promise<void> {
  const [portArg, pageFile] = process.argv.slice(2);
  const page = pageFile ? JSON.parse(readFileSync(pageFile, 'utf8')) : null;
  const server = new ApolloServer({
    typeDefs,
    resolvers: { Query: { hello: () => 'world', credentials: () => page } },
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    introspection: false,
  });
  await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(portArg) } });
  process.send?.({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`hello-server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
