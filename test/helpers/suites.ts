import type { EventPublisher, LiveEvents } from '../../src/events/types';
import { providerId, tenantWithTokens } from '../factories';
import { createFakeOpenAIProvider } from '../factories/providers';
import { startFakeProvider, type FakeProvider } from '../fakes/fake-provider';
import { startTestApp, type TestApp } from './test-app';
import { startTestWorkers, type TestWorkers } from './test-worker';

/**
 * Setups several suites share, registered as Jest hooks. The returned object is filled in before
 * the first test runs; read it inside hooks and tests, not at module load.
 */

/** An API with one tenant (its admin token) and the built-in OpenAI provider's id. */
export function oneTenantSuite() {
  const suite = { t: undefined as unknown as TestApp, tenantId: '', admin: '', openai: '' };
  beforeAll(async () => {
    suite.t = await startTestApp();
    const created = await tenantWithTokens(suite.t);
    suite.tenantId = created.tenant.id;
    suite.admin = created.admin;
    suite.openai = await providerId(suite.t, 'openai');
  });
  afterAll(() => suite.t.close());
  return suite;
}

/**
 * An API, real workers and a fake OpenAI-shaped provider, with every KEY_REUSE_ALERT event the
 * workers publish recorded in `events`.
 */
export function keyReuseSuite() {
  const events: LiveEvents['KEY_REUSE_ALERT'][] = [];
  const recorder: EventPublisher = {
    publish: async (name, payload) => {
      if (name === 'KEY_REUSE_ALERT') events.push(payload as LiveEvents['KEY_REUSE_ALERT']);
    },
  };
  const suite = {
    t: undefined as unknown as TestApp,
    fake: undefined as unknown as FakeProvider,
    w: undefined as unknown as TestWorkers,
    providerId: '',
    events,
  };
  beforeAll(async () => {
    suite.t = await startTestApp();
    suite.fake = await startFakeProvider();
    suite.providerId = await createFakeOpenAIProvider(suite.t, suite.fake.baseUrl);
    suite.w = await startTestWorkers(suite.t, { events: recorder, concurrency: 4 });
  });
  afterAll(async () => {
    await suite.w.close();
    await suite.fake.close();
    await suite.t.close();
  });
  return suite;
}
