import { getIntrospectionQuery, graphqlSync, isEnumType } from 'graphql';
import { USER_ERROR_CODES } from '../../../src/errors';
import { buildKeyplaneSchema } from '../../../src/graphql/build-schema';
import { MUTATION_ERROR_CODES } from '../../../src/graphql/mutation-errors';
import { undeclaredUserErrorCodes } from '../../helpers/declared-error-codes';

it('every mutation lists the userErrors codes it can return, in its description; only real codes', async () => {
  const schema = await buildKeyplaneSchema();
  const mutations = schema.getMutationType()!.getFields();
  expect(Object.keys(MUTATION_ERROR_CODES).sort()).toEqual(Object.keys(mutations).sort());
  for (const [name, codes] of Object.entries(MUTATION_ERROR_CODES)) {
    expect(codes.length).toBeGreaterThan(0);
    for (const code of codes) expect([name, USER_ERROR_CODES]).toEqual([name, expect.arrayContaining([code])]);
    expect(mutations[name].description).toContain(`userErrors codes: ${[...new Set(codes)].join(', ')}.`);
  }
  // Introspection (what codegen and GraphiQL read) carries the same text.
  const result = graphqlSync({ schema, source: getIntrospectionQuery() });
  const mutation = (result.data as any).__schema.types.find((t: { name: string }) => t.name === 'Mutation');
  expect(mutation.fields.find((f: { name: string }) => f.name === 'createCredential').description).toMatch(/userErrors codes: NOT_FOUND, /);
});

it('every enum and every enum value of the schema is described', async () => {
  const schema = await buildKeyplaneSchema();
  const undescribed: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isEnumType(type) || type.name.startsWith('__')) continue;
    if (!type.description) undescribed.push(type.name);
    for (const value of type.getValues()) if (!value.description?.trim()) undescribed.push(`${type.name}.${value.name}`);
  }
  expect(undescribed).toEqual([]);
});

it('the integration harness names a code its mutation does not declare (aliases followed)', () => {
  const doc = 'mutation($i: CreateTenantInput!) { made: createTenant(input: $i) { userErrors { code } } }';
  const data = { made: { userErrors: [{ code: 'SLUG_TAKEN' }, { code: 'HOST_CHANGED' }] } };
  expect(undeclaredUserErrorCodes(doc, data)).toEqual(['createTenant: HOST_CHANGED']);
  expect(undeclaredUserErrorCodes('{ viewer { role } }', { viewer: { role: 'ADMIN' } })).toEqual([]);
});
