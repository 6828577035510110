import { getMetadataStorage } from 'type-graphql';
import { buildKeyplaneSchema } from '../../../src/graphql/build-schema';

/*
 * Object types use simpleResolvers (src/graphql/build-schema.ts): their plain fields skip
 * type-graphql's per-field wrapper, so a field-level @Authorized or @UseMiddleware on one of them
 * would silently not run. This fails as soon as someone adds one.
 */
it('no field of a simpleResolvers object type carries roles or middlewares', async () => {
  await buildKeyplaneSchema();
  const storage = getMetadataStorage();
  const simple = storage.objectTypes.filter((o) => o.simpleResolvers);
  expect(simple.length).toBeGreaterThan(30);
  const guarded = storage.fields
    .filter((f) => simple.some((o) => o.target === f.target))
    .filter((f) => (f.roles?.length ?? 0) > 0 || (f.middlewares?.length ?? 0) > 0)
    .map((f) => `${f.target.name}.${f.name}`);
  expect(guarded).toEqual([]);
});
