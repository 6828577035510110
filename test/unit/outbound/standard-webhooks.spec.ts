import { Webhook } from 'standardwebhooks';
import { sign, signedHeaders } from '../../../src/outbound/standard-webhooks';
import { verifyStandardWebhook } from '../../fakes/webhook-sink';

describe('Standard Webhooks signing', () => {
  it('matches the published example (Standard Webhooks / Svix docs)', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const signature = sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies with the standardwebhooks library and with the independent receiver check', () => {
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    const body = JSON.stringify({ type: 'gateway.config_changed', configVersion: 7 });
    const now = Math.floor(Date.now() / 1000);
    const headers = signedHeaders(secret, 'msg_abc', now, body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(verifyStandardWebhook(secret, { headers: { ...headers }, body })).toBe(true);
    expect(verifyStandardWebhook(secret, { headers: { ...headers }, body: body.replace('7', '8') })).toBe(false);
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 8).toString('base64')}`).verify(body, { ...headers })).toThrow();
  });

  it('refuses a secret that is not a whsec_ base64 key', () => {
    expect(() => sign('whsec_', 'msg', 1, '{}')).toThrow(/not a whsec_ base64 key/);
    expect(() => sign('whsec_***', 'msg', 1, '{}')).toThrow(/not a whsec_ base64 key/);
  });
});
