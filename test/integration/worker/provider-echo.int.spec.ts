import { randomBytes } from 'node:crypto';
import { expectOk, tenantWithTokens, uniqueSlug } from '../../factories';
import { ECHO_CLEAN_MODELS, echoModelIds, startFakeProvider, type FakeProvider } from '../../fakes/fake-provider';
import { describeHits, dumpDatabase, dumpQueueStore, scanTexts } from '../../helpers/leak-scan';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { eventually, startTestWorkers, type TestWorkers } from '../../helpers/test-worker';

/*
 * A hostile provider (custom rows pointed at the fake) answers with the presented key in every
 * field it can: model ids (whole, re-cased, in pieces, base64, hex), the error body of every
 * status, and headers. Through testProviderKey and the real validate-credential processor, nothing
 * of the key may reach a response, a log line, a table or a Redis key.
 */
let t: TestApp;
let fake: FakeProvider;
let w: TestWorkers;
const shapes = { OPENAI: 'BEARER', ANTHROPIC: 'X_API_KEY', GEMINI: 'X_GOOG_API_KEY' } as const;
type Shape = keyof typeof shapes;
const providers = {} as Record<Shape, string>;
const canaries: string[] = [];
// Seven ids echo the key, three are malformed: see echoModelIds.
const ECHOED = 7;
const DROPPED = echoModelIds('x').length - ECHO_CLEAN_MODELS.length;

const canary = () => {
  const key = `echo-CANARY${canaries.length}-${randomBytes(40)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 40)}`;
  canaries.push(key);
  return key;
};

beforeAll(async () => {
  t = await startTestApp();
  fake = await startFakeProvider();
  w = await startTestWorkers(t, { captureLogs: true });
  for (const [apiShape, authScheme] of Object.entries(shapes)) {
    const res = await expectOk<any>(
      t.gql('mutation($input: UpsertProviderInput!) { upsertProvider(input: $input) { provider { id } userErrors { code } } }', {
        input: { slug: uniqueSlug('echo'), name: `Echo ${apiShape}`, baseUrl: fake.baseUrl, authScheme, apiShape, keyPattern: '^.+$' },
      }),
      'upsertProvider',
    );
    providers[apiShape as Shape] = res.provider.id;
  }
});
afterAll(async () => {
  await w.close();
  await fake.close();
  await t.close();
});
beforeEach(() => fake.reset());

const TEST = `mutation($input: TestProviderKeyInput!) { testProviderKey(input: $input) {
  result { outcome models modelsDropped message httpStatus retryAfterSeconds } userErrors { code } } }`;

describe('testProviderKey against an echoing provider', () => {
  it.each<[Shape, number, string]>([
    ['OPENAI', 200, 'VALID'],
    ['ANTHROPIC', 200, 'VALID'],
    ['GEMINI', 200, 'VALID'],
    ['ANTHROPIC', 401, 'INVALID'],
    // OpenAI reads a coded 401 as an org / IP rule on a live key: the echo puts the key in `code`.
    ['OPENAI', 401, 'VALID_RESTRICTED'],
    ['ANTHROPIC', 403, 'VALID_RESTRICTED'],
    ['OPENAI', 429, 'RATE_LIMITED'],
    ['GEMINI', 500, 'PROVIDER_UNAVAILABLE'],
  ])('%s %i: %s, clean models only, nothing of the key in the response', async (shape, status, outcome) => {
    const key = canary();
    fake.script(key, fake.respond.echo(status));
    const res = await t.gql(TEST, { input: { providerId: providers[shape], secret: key } });
    const result = await expectOk<any>(Promise.resolve(res), 'testProviderKey').then((p) => p.result);
    expect(fake.requests).toHaveLength(1); // the key went out and came back in every field
    expect(result).toMatchObject({ outcome, httpStatus: status, retryAfterSeconds: null });
    if (status === 200) {
      expect(result.models).toEqual([...ECHO_CLEAN_MODELS].sort());
      expect(result.modelsDropped).toBe(DROPPED);
      expect(result.message).toContain(`${ECHOED} listed model id(s) contained part of the key and were dropped.`);
    } else {
      expect(result).toMatchObject({ models: [], modelsDropped: 0 });
    }
    expect(describeHits(scanTexts([{ where: 'response', text: res.raw }], [key]))).toBe('');
  });
});

async function relayUntil(credentialId: string, predicate: (row: any) => boolean): Promise<any> {
  return eventually(async () => {
    await w.relay();
    const [row] = await t.app.db.query('SELECT * FROM credentials WHERE id = $1', [credentialId]);
    return predicate(row) ? row : null;
  }, 15_000);
}

describe('the validation job against an echoing provider', () => {
  let tenantId: string;
  let admin: string;
  let viewer: string;
  beforeAll(
    async () =>
      ({
        tenant: { id: tenantId },
        admin,
        viewer,
      } = await tenantWithTokens(t)),
  );

  async function create(shape: Shape, key: string): Promise<string> {
    const res = await expectOk<any>(
      t.gql(
        'mutation($input: CreateCredentialInput!) { createCredential(input: $input) { credential { id } userErrors { code } } }',
        {
          input: { tenantId, providerId: providers[shape], label: uniqueSlug('echo'), secret: key },
        },
        admin,
      ),
      'createCredential',
    );
    return res.credential.id;
  }

  it.each<Shape>(['OPENAI', 'ANTHROPIC', 'GEMINI'])('%s 200: stores and shows only the clean model ids', async (shape) => {
    const key = canary();
    fake.script(key, fake.respond.echo(200));
    const id = await create(shape, key);
    const row = await relayUntil(id, (r) => r.status !== 'PENDING_VALIDATION');
    expect(row).toMatchObject({ status: 'ACTIVE', last_validation_outcome: 'VALID' });
    expect(row.last_validation_models).toEqual([...ECHO_CLEAN_MODELS].sort());
    expect(row.last_validation_message).toContain(`${ECHOED} listed model id(s) contained part of the key`);

    const seen = await t.gql('query($id: ID!) { credential(id: $id) { lastValidation { outcome models message } } }', { id }, viewer);
    expect(seen.data.credential.lastValidation).toEqual({
      outcome: 'VALID',
      models: row.last_validation_models,
      message: row.last_validation_message,
    });
  });

  it('revalidation (401 with the key everywhere) records INVALID and no provider text', async () => {
    const key = canary();
    fake.script(key, fake.respond.echo(200), fake.respond.echo(401));
    const id = await create('ANTHROPIC', key);
    await relayUntil(id, (r) => r.status === 'ACTIVE');
    await expectOk(
      t.gql('mutation($input: RevalidateCredentialInput!) { revalidateCredential(input: $input) { userErrors { code } } }', { input: { id } }, admin),
      'revalidateCredential',
    );
    const row = await relayUntil(id, (r) => r.status === 'INVALID');
    expect(row).toMatchObject({
      last_validation_outcome: 'INVALID',
      last_validation_message: 'The provider rejected the key as invalid (HTTP 401).',
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('403 and a retried 500: the job state in the queue store holds no provider text', async () => {
    const restricted = canary();
    fake.script(restricted, fake.respond.echo(403));
    const restrictedId = await create('ANTHROPIC', restricted);
    expect(await relayUntil(restrictedId, (r) => r.status !== 'PENDING_VALIDATION')).toMatchObject({ last_validation_outcome: 'VALID_RESTRICTED' });

    const failing = canary();
    fake.script(failing, fake.respond.echo(500), fake.respond.echo(500));
    const failingId = await create('OPENAI', failing);
    await w.relay();
    // The first try failed and is waiting for its retry: its failure reason sits in the queue store.
    const job = await eventually(async () => {
      const found = await w.queues.credentials.getJob(`validate-credential-${failingId}-v1`);
      return found && found.attemptsMade >= 1 ? found : null;
    }, 10_000);
    expect(job.failedReason).toBe('provider check was PROVIDER_UNAVAILABLE; will retry');
  });

  it('no response, log line, table or queue store entry holds any piece of any canary', async () => {
    expect(canaries.length).toBeGreaterThanOrEqual(14);
    {
      // This run's jobs are there to be scanned; then everything the queue store holds is.
      expect((await dumpQueueStore(w.prefix)).some((r) => r.where.includes(`${w.prefix}:credentials`))).toBe(true);
      const redisTexts = await dumpQueueStore();
      const sources = [
        ...t.responses.map((text, i) => ({ where: `response ${i}`, text })),
        ...t.logs.map((text, i) => ({ where: `api log ${i}`, text })),
        ...w.logs.map((text, i) => ({ where: `worker log ${i}`, text })),
        ...(await dumpDatabase(t.app.db)),
        ...redisTexts,
      ];
      expect(w.logs.some((l) => l.includes('job failed'))).toBe(true);
      expect(describeHits(scanTexts(sources, canaries))).toBe('');
      // The scanner looks at 12-character windows; provider text is held to 8, case-folded.
      const folded = sources.map((s) => ({ ...s, text: s.text.toLowerCase() }));
      const pieces = canaries.flatMap((c) => [c.slice(12, 20), c.slice(-8)].map((p) => p.toLowerCase()));
      expect(folded.filter((s) => pieces.some((p) => s.text.includes(p))).map((s) => s.where)).toEqual([]);
    }
  });
});
