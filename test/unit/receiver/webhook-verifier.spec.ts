import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signedHeaders } from '../../../src/outbound/standard-webhooks';
import { createWebhookVerifier, MemoryReplayStore, WebhookVerificationError, type Headers } from '../../../src/receiver/webhook-verifier';

const secret = () => `whsec_${randomBytes(24).toString('base64')}`;
const body = JSON.stringify({ type: 'gateway.config_changed', gatewayId: 'g1', configVersion: 4 });
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function refusal(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (error instanceof WebhookVerificationError) return error.code;
    throw error;
  }
}

describe('createWebhookVerifier (receiver side)', () => {
  it("accepts what Keyplane's sender signs, and what the standardwebhooks library signs", async () => {
    const s = secret();
    const verify = createWebhookVerifier({ secrets: [s] });
    expect(await verify(signedHeaders(s, 'msg_1', nowSeconds(), body) as unknown as Headers, body)).toEqual(JSON.parse(body));
    const at = new Date();
    const theirs = new Webhook(s).sign('msg_2', at, body);
    expect(
      await verify(
        { 'webhook-id': 'msg_2', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': theirs },
        Buffer.from(body),
      ),
    ).toEqual(JSON.parse(body));
    // And the library accepts ours: both sides speak the same spec.
    const ours = signedHeaders(s, 'msg_3', nowSeconds(), body);
    expect(new Webhook(s).verify(body, ours as unknown as Record<string, string>)).toEqual(JSON.parse(body));
  });

  it('refuses the same webhook-id twice within the tolerance, but not a new id', async () => {
    const s = secret();
    const verify = createWebhookVerifier({ secrets: [s] });
    const headers = signedHeaders(s, 'msg_replay', nowSeconds(), body) as unknown as Headers;
    await verify(headers, body);
    expect(await refusal(verify(headers, body))).toBe('REPLAYED');
    expect(await refusal(verify(signedHeaders(s, 'msg_other', nowSeconds(), body) as unknown as Headers, body))).toBeNull();
  });

  it('a forged message does not burn the id of the genuine one', async () => {
    const s = secret();
    const verify = createWebhookVerifier({ secrets: [s] });
    const forged = signedHeaders(secret(), 'msg_target', nowSeconds(), body) as unknown as Headers;
    expect(await refusal(verify(forged, body))).toBe('BAD_SIGNATURE');
    expect(await refusal(verify(signedHeaders(s, 'msg_target', nowSeconds(), body) as unknown as Headers, body))).toBeNull();
  });

  it('refuses missing headers, a bad or stale timestamp, a tampered body and a wrong secret', async () => {
    const s = secret();
    const verify = createWebhookVerifier({ secrets: [s] });
    const good = signedHeaders(s, 'msg_x', nowSeconds(), body) as unknown as Headers;
    expect(await refusal(verify({ ...good, 'webhook-id': undefined }, body))).toBe('MISSING_HEADERS');
    expect(await refusal(verify({ ...good, 'webhook-timestamp': 'soon' }, body))).toBe('BAD_TIMESTAMP');
    const stale = nowSeconds() - 301;
    expect(await refusal(verify(signedHeaders(s, 'msg_old', stale, body) as unknown as Headers, body))).toBe('TIMESTAMP_OUT_OF_TOLERANCE');
    expect(await refusal(verify(good, body.replace('4', '5')))).toBe('BAD_SIGNATURE');
    expect(await refusal(createWebhookVerifier({ secrets: [secret()] })(good, body))).toBe('BAD_SIGNATURE');
  });

  it('during a secret rotation: either secret verifies, and several v1 signatures are read', async () => {
    const [oldSecret, newSecret] = [secret(), secret()];
    const verify = createWebhookVerifier({ secrets: [newSecret, oldSecret] });
    const t = nowSeconds();
    const both = `${signedHeaders(oldSecret, 'msg_r', t, body)['webhook-signature']} ${signedHeaders(newSecret, 'msg_r', t, body)['webhook-signature']}`;
    expect(await refusal(verify({ 'webhook-id': 'msg_r', 'webhook-timestamp': String(t), 'webhook-signature': both }, body))).toBeNull();
    expect(await refusal(verify(signedHeaders(oldSecret, 'msg_o', t, body) as unknown as Headers, body))).toBeNull();
    const onlyNew = createWebhookVerifier({ secrets: [newSecret] });
    expect(await refusal(onlyNew(signedHeaders(oldSecret, 'msg_p', t, body) as unknown as Headers, body))).toBe('BAD_SIGNATURE');
  });

  it('the in-memory store forgets an id once its window has passed, and stays bounded', () => {
    let clock = 1_000_000;
    const store = new MemoryReplayStore(3, () => clock);
    expect(store.remember('a', clock + 10)).toBe(true);
    expect(store.remember('a', clock + 10)).toBe(false);
    clock += 11;
    expect(store.remember('a', clock + 10)).toBe(true);
    for (const id of ['b', 'c', 'd', 'e']) expect(store.remember(id, clock + 10)).toBe(true);
    expect(store.remember('e', clock + 10)).toBe(false);
  });
});
