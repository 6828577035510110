import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { anthropicKey, openaiKey } from '../../factories';
import { describeHits, scanTexts } from '../../helpers/leak-scan';
import { ADMIN_TOKEN, type TestApp } from '../../helpers/test-app';
import { eventually } from '../../helpers/test-worker';
import { oneTenantSuite } from '../../helpers/suites';

/*
 * A key typed inline anywhere in a document (a literal of any type, a name of any kind) or sent in
 * a variable is rejected over HTTP and over WebSocket without any piece of it in a response or a
 * log line. Name positions get the key with '_' for '-', the form a GraphQL name can take.
 */
const alnum = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);
const KEYS = [`sk-proj-${alnum(40)}`, openaiKey(), anthropicKey()];
const asName = (key: string) => key.replace(/-/g, '_');
const SECRETS = [...KEYS, ...KEYS.map(asName)];

const suite = oneTenantSuite();
let t: TestApp;
let tenantId: string;
let admin: string;
let openai: string;
beforeAll(() => {
  ({ t, tenantId, admin, openai } = suite);
});

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** Every position a sender can type a key into, for one key (`k` as a literal, `n` as a name). */
function cases(k: string): Case[] {
  const n = asName(k);
  const list = `credentials(tenantId: "${tenantId}"`;
  const create = (fields: string) =>
    `mutation { createCredential(input: { tenantId: "${tenantId}", providerId: "${openai}", label: "x", secret: "x", ${fields} }) { credential { id } } }`;
  const upsert = (prefixes: string) => `mutation { upsertProvider(input: { slug: "openai", keyPrefixes: ${prefixes} }) { provider { id } } }`;
  return [
    { name: 'String in an Int argument', query: `{ tenants(first: "${k}") { nodes { id } } }` },
    { name: 'enum literal in an Int argument', query: `{ tenants(first: ${n}) { nodes { id } } }` },
    { name: 'object in an Int argument', query: `{ tenants(first: { a: "${k}" }) { nodes { id } } }` },
    { name: 'String in a Boolean argument', query: `{ ${list}, includeRevoked: "${k}") { nodes { id } } }` },
    { name: 'name in an enum argument', query: `{ ${list}, status: ${n}) { nodes { id } } }` },
    { name: 'String in an enum argument', query: `{ ${list}, kind: "${k}") { nodes { id } } }` },
    { name: 'name in an ID argument', query: `{ credential(id: ${n}) { id } }` },
    { name: 'list in an ID argument', query: `{ credential(id: ["${k}"]) { id } }` },
    { name: 'String in a String argument of a wrong name', query: `{ ${list}, after: 1, ${n}: "${k}") { nodes { id } } }` },
    { name: 'String in an Int input field', query: create(`rotationPeriodDays: "${k}"`) },
    { name: 'unknown input field', query: create(`${n}: 1`) },
    { name: 'enum input field', query: create(`kind: ${n}`) },
    { name: 'list item', query: upsert(`["sk-", ${n}]`) },
    { name: 'object list item', query: upsert(`["sk-", { a: "${k}" }]`) },
    { name: '@include(if:)', query: `{ viewer @include(if: "${k}") { role } }` },
    { name: '@skip(if:) with a name', query: `{ viewer @skip(if: ${n}) { role } }` },
    { name: 'unknown directive', query: `{ viewer @${n} { role } }` },
    { name: 'unknown directive argument', query: `{ viewer @include(if: true, ${n}: 1) { role } }` },
    { name: 'variable default', query: `query($f: Int = "${k}") { tenants(first: $f) { nodes { id } } }` },
    { name: 'variable name', query: `query($${n}: Int) { viewer { role } }` },
    { name: 'variable type', query: `query($v: ${n}) { viewer { role } }` },
    { name: 'undefined variable', query: `{ tenants(first: $${n}) { nodes { id } } }` },
    { name: 'field name', query: `{ ${n} }` },
    { name: 'nested field name', query: `{ viewer { ${n} } }` },
    { name: 'alias', query: `{ ${n}: viewer { role } ${n}: tenants(first: 1) { nodes { id } } }` },
    { name: 'operation name', query: `query ${n} { viewer { role } } query ${n} { viewer { role } }` },
    { name: 'operationName in the request', query: 'query a { viewer { role } } query b { viewer { role } }', operationName: n },
    { name: 'fragment spread', query: `{ viewer { ...${n} } }` },
    { name: 'unused fragment', query: `{ viewer { role } } fragment ${n} on Viewer { role }` },
    { name: 'fragment type condition', query: `{ viewer { ... on ${n} { role } } }` },
    { name: 'argument name', query: `{ tenants(${n}: 1) { nodes { id } } }` },
    { name: 'syntax: string where a name goes', query: `{ viewer { "${k}" } }` },
    { name: 'syntax: trailing name', query: `{ viewer { role } } ${n}` },
    { name: 'subscription @include', query: `subscription { credentialChanged(tenantId: "${tenantId}") @include(if: "${k}") { tenantId } }` },
    {
      name: 'subscription with two fields',
      query: `subscription ${n} { a: credentialChanged(tenantId: "x") { tenantId } b: credentialChanged(tenantId: "y") { tenantId } }`,
    },
    {
      name: 'variables',
      query: 'mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } } }',
      variables: { input: { tenantId, providerId: openai, label: k, secret: k, rotationPeriodDays: k, kind: n, [n]: k } },
    },
    { name: 'variable of a list type', query: 'query($t: ID!) { credential(id: $t) { id } }', variables: { t: [k, { [n]: k }] } },
  ];
}

const leaks = (texts: { where: string; text: string }[]) => describeHits(scanTexts(texts, SECRETS));

it('over HTTP: every position is rejected, and no response or log line holds any piece of a key', async () => {
  for (const key of KEYS) {
    for (const c of cases(key)) {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({ query: c.query, variables: c.variables ?? {}, operationName: c.operationName }),
      });
      const raw = await res.text();
      t.responses.push(raw);
      const body = JSON.parse(raw);
      expect({ case: c.name, rejected: body.errors?.length > 0, leaks: leaks([{ where: 'response', text: raw }]) }).toEqual({
        case: c.name,
        rejected: true,
        leaks: '',
      });
      const codes = body.errors.map((e: { extensions: { code: string } }) => e.extensions.code);
      // A subscription over HTTP is refused before validation (served over WebSocket only): a 400.
      const expected = c.name === 'subscription @include' ? ['BAD_REQUEST'] : codes.filter((code: string) => code !== 'INTERNAL_SERVER_ERROR');
      expect({ case: c.name, codes }).toEqual({ case: c.name, codes: expected });
    }
  }
  expect(leaks(t.logs.map((text, i) => ({ where: `log line ${i}`, text })))).toBe('');
});

it('over WebSocket: each is answered as an error for its operation id, the socket stays open, logs hold no piece of a key', async () => {
  const logsBefore = t.logs.length;
  const frames: string[] = [];
  const closes: number[] = [];
  const client: Client = createClient({
    url: t.url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${admin}` },
    retryAttempts: 0,
    on: { message: (m) => void frames.push(JSON.stringify(m)), closed: (e) => void closes.push((e as CloseEvent).code) },
  });
  try {
    for (const key of KEYS) {
      for (const c of cases(key)) {
        const outcome = await new Promise<{ errors?: { extensions?: { code?: string } }[]; data?: unknown }>((resolve) => {
          client.subscribe(
            { query: c.query, variables: c.variables, operationName: c.operationName },
            {
              next: (r) => resolve(r as never),
              error: (e) => resolve({ errors: Array.isArray(e) ? e : [{ extensions: { code: `closed ${(e as CloseEvent).code}` } }] }),
              complete: () => {},
            },
          );
        });
        expect({ case: c.name, codes: (outcome.errors ?? []).map((e) => e.extensions?.code) }).toEqual({
          case: c.name,
          codes: expect.arrayContaining([
            expect.stringMatching(/^(GRAPHQL_PARSE_FAILED|GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT|BAD_REQUEST|NOT_FOUND)$/),
          ]),
        });
      }
    }
    expect(closes).toEqual([]);
    // Still the same socket, still serving.
    const ok = await new Promise<unknown>((resolve) => {
      const stop = client.subscribe(
        { query: 'subscription($t: ID!) { credentialChanged(tenantId: $t) { tenantId } }', variables: { t: tenantId } },
        { next: resolve, error: resolve, complete: () => {} },
      );
      setTimeout(() => {
        stop();
        resolve('open');
      }, 300);
    });
    expect(ok).toBe('open');
    expect(closes).toEqual([]);
  } finally {
    await client.dispose();
  }
  await eventually(async () => frames.length > 0);
  expect(leaks(frames.map((text, i) => ({ where: `frame ${i}`, text })))).toBe('');
  const logs = t.logs.slice(logsBefore);
  expect(leaks(logs.map((text, i) => ({ where: `log line ${i}`, text })))).toBe('');
  expect(logs.join('')).not.toContain('websocket message failed');
});
