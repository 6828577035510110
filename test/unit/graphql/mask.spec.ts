import { randomBytes } from 'node:crypto';
import { buildSchema, execute, getVariableValues, parse, validate, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import { MASK, maskMessage, schemaNames } from '../../../src/graphql/mask';
import { scanTexts, describeHits } from '../../helpers/leak-scan';

const schema = buildSchema(`
  enum Status { ACTIVE REVOKED }
  input Filter { status: Status, first: Int!, tags: [String!] }
  type Item { id: ID! label: String! }
  type Query { items(first: Int!, status: Status, filter: Filter, id: ID): [Item!]! item(id: ID!): Item }
  type Subscription { changed(tenantId: ID!): Item! }
`);
const names = schemaNames(schema);
const alnum = (n: number) =>
  randomBytes(n * 2)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, n);
const key = `sk-proj-${alnum(40)}`;
const bare = `sk_proj_${alnum(40)}`; // a key that is also a valid GraphQL name

/** What graphql-js itself says about a document (parse, validate, or coerce its variables). */
function messagesFor(query: string, variables: Record<string, unknown> = {}): string[] {
  let document;
  try {
    document = parse(query);
  } catch (error) {
    return [(error as GraphQLError).message];
  }
  let errors: readonly GraphQLError[];
  try {
    errors = validate(schema, document);
  } catch (error) {
    return [(error as GraphQLError).message]; // graphql-js can throw from a subscription's @include
  }
  if (errors.length > 0) return errors.map((e) => e.message);
  const op = document.definitions[0] as OperationDefinitionNode;
  const coerced = getVariableValues(schema, op.variableDefinitions ?? [], variables);
  if (coerced.errors) return coerced.errors.map((e) => e.message);
  const result = execute({ schema, document, operationName: bare, variableValues: variables }) as { errors?: GraphQLError[] };
  return (result.errors ?? []).map((e) => e.message);
}

const CASES: [string, string, Record<string, unknown>?][] = [
  ['String where Int', `{ items(first: "${key}") { id } }`],
  ['enum literal where Int', `{ items(first: ${bare}) { id } }`],
  ['Boolean directive', `{ items(first: 1) @include(if: "${key}") { id } }`],
  ['enum position', `{ items(first: 1, status: ${bare}) { id } }`],
  ['enum as string', `{ items(first: 1, status: "${key}") { id } }`],
  ['ID as object', `{ item(id: {a: "${key}"}) { id } }`],
  ['input field', `{ items(first: 1, filter: {first: 1, ${bare}: 2}) { id } }`],
  ['list item', `{ items(first: 1, filter: {first: 1, tags: ["a", ${bare}]}) { id } }`],
  ['field name', `{ ${bare} }`],
  ['argument name', `{ items(first: 1, ${bare}: 1) { id } }`],
  ['alias conflict', `{ ${bare}: items(first: 1) { id } ${bare}: item(id: 1) { id } }`],
  ['fragment name', `{ ...${bare} }`],
  ['unused fragment', `{ items(first: 1) { id } } fragment ${bare} on Item { id }`],
  ['variable name', `query($${bare}: Int) { items(first: 1) { id } }`],
  ['variable default', `query($n: Int = "${key}") { items(first: $n) { id } }`],
  ['duplicate operation', `query ${bare} { items(first: 1) { id } } query ${bare} { items(first: 1) { id } }`],
  ['unknown type', `query($n: ${bare}) { items(first: 1) { id } }`],
  ['subscription @include', `subscription { changed(tenantId: 1) @include(if: "${key}") { id } }`],
  ['subscription fields', `subscription ${bare} { a: changed(tenantId: 1) { id } b: changed(tenantId: 1) { id } }`],
  ['syntax: string token', `{ items(first: 1) "${key}" }`],
  ['syntax: name token', `{ items(first: 1) { id } } ${bare}`],
  ['variable value', `query($f: Filter) { items(first: 1, filter: $f) { id } }`, { f: { first: key, tags: [key], status: key, [bare]: 1 } }],
  ['variable enum', `query($s: Status) { items(first: 1, status: $s) { id } }`, { s: bare }],
  ['unknown operation', `query a { items(first: 1) { id } }`],
];

describe('maskMessage', () => {
  for (const [name, query, variables] of CASES) {
    it(`${name}: no piece of the key survives, and the message keeps its shape`, () => {
      const raw = messagesFor(query, variables);
      expect(raw.length).toBeGreaterThan(0);
      // graphql-js quotes the key: the test would be empty otherwise.
      expect(scanTexts([{ where: 'raw', text: raw.join('\n') }], [key, bare])).not.toHaveLength(0);
      const masked = raw.map((m) => maskMessage(m, names, 'FALLBACK'));
      expect(describeHits(scanTexts([{ where: 'masked', text: masked.join('\n') }], [key, bare]))).toBe('');
      expect(masked).not.toContain('FALLBACK'); // every graphql-js shape above is known
    });
  }

  it('keeps schema names, suggestions among them, and the fixed wording', () => {
    expect(maskMessage(`Cannot query field "${bare}" on type "Query". Did you mean "items" or "item"?`, names, 'F')).toBe(
      `Cannot query field "${MASK}" on type "Query". Did you mean "items" or "item"?`,
    );
    expect(maskMessage(`Int cannot represent non-integer value: "${key}"`, names, 'F')).toBe(`Int cannot represent non-integer value: ${MASK}`);
    expect(
      maskMessage(`Variable "$f" got invalid value { first: "x; y" } at "f.first"; Int cannot represent non-integer value: "x; y"`, names, 'F'),
    ).toBe(`Variable "${MASK}" got an invalid value at "${MASK}"; Int cannot represent non-integer value: ${MASK}`);
    expect(maskMessage('Variable "$filter" got invalid value 3 at "filter.tags[2]"; Field "Filter.first" must be non-null.', names, 'F')).toBe(
      'Variable "$filter" got an invalid value at "filter.tags[2]"; Field "Filter.first" must be non-null.',
    );
    expect(maskMessage(`Syntax Error: Expected Name, found String "${key}".`, names, 'F')).toBe('Syntax Error: Expected Name, found String.');
    expect(maskMessage('Syntax Error: Expected "{", found <EOF>.', names, 'F')).toBe('Syntax Error: Expected "{", found <EOF>.');
  });

  it('replaces a message of unknown shape whole', () => {
    expect(maskMessage(`Something new about "${key}".`, names, 'F')).toBe('F');
    expect(maskMessage(`Query.items ${key}`, names, 'F')).toBe('F');
  });
});
