import { startTestApp, type TestApp } from '../../helpers/test-app';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

it('answers viewer for the platform admin', async () => {
  const res = await t.gql('{ viewer { role tokenName tenant { id } } }');
  expect(res.errors).toBeUndefined();
  expect(res.data.viewer).toEqual({ role: 'PLATFORM_ADMIN', tokenName: 'platform admin', tenant: null });
});
