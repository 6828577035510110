import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkBreaking, readAllowances } from '../../../scripts/schema-breaking';

const BASE = `type Query { credential(id: ID!): Credential!  credentials(first: Int! = 20): [Credential!]! }
type Credential { id: ID!  label: String!  action: String! }`;

it('a removed field or a changed output type is breaking and not allowed by default', async () => {
  const next = `type Query { credential(id: ID!): Credential  credentials(first: Int! = 20): [Credential!]! }
type Credential { id: ID!  action: Int! }`;
  const report = await checkBreaking(BASE, next, { allowances: [] });
  expect(report.unallowed.map((c) => `${c.type} ${c.path}`).sort()).toEqual([
    'FIELD_REMOVED Credential.label',
    'FIELD_TYPE_CHANGED Credential.action',
    'FIELD_TYPE_CHANGED Query.credential',
  ]);
});

it('an allowance with a reason lets exactly its change through; the others still fail', async () => {
  const next = `type Query { credential(id: ID!): Credential  credentials(first: Int! = 20): [Credential!]! }
type Credential { id: ID!  action: Int! }`;
  const report = await checkBreaking(BASE, next, {
    allowances: [{ type: 'FIELD_TYPE_CHANGED', path: 'Query.credential', reason: 'lookups answer null for a missing id' }],
  });
  expect(report.allowed.map((a) => a.change.path)).toEqual(['Query.credential']);
  expect(report.unallowed.map((c) => c.path).sort()).toEqual(['Credential.action', 'Credential.label']);
});

it('additions and deprecations are not breaking; an allowance matching nothing is reported stale', async () => {
  const next = `type Query { credential(id: ID!): Credential!  credentials(first: Int! = 20, last: Int): [Credential!]!  node(id: ID!): Credential }
type Credential { id: ID!  label: String! @deprecated(reason: "use name")  name: String!  action: String! }`;
  const report = await checkBreaking(BASE, next, {
    allowances: [{ type: 'FIELD_REMOVED', path: 'Credential.label', reason: 'was allowed once, then reverted' }],
  });
  expect(report.unallowed).toEqual([]);
  expect(report.stale.map((a) => a.path)).toEqual(['Credential.label']);
});

it('an allowance without a real reason is invalid and allows nothing', async () => {
  const next = BASE.replace('label: String!', '');
  const report = await checkBreaking(BASE, next, { allowances: [{ type: 'FIELD_REMOVED', path: 'Credential.label', reason: 'TODO: why' }] });
  expect(report.invalid).toHaveLength(1);
  expect(report.unallowed.map((c) => c.path)).toEqual(['Credential.label']);
});

it('the committed SDL passes against the committed baseline with the committed allowances', async () => {
  const read = (name: string) => readFileSync(resolve(__dirname, '../../../schema', name), 'utf8');
  const report = await checkBreaking(read('baseline.graphql'), read('schema.graphql'), readAllowances());
  expect({ unallowed: report.unallowed.map((c) => c.message), stale: report.stale, invalid: report.invalid }).toEqual({
    unallowed: [],
    stale: [],
    invalid: [],
  });
});
