import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the receiver verifies
 * `webhook-signature` = "v1," + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)), where the
 * key is the base64 part of the `whsec_` secret, decoded. Any receiver library for the spec works.
 */
export const SECRET_PREFIX = 'whsec_';

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

function keyOf(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from ignores bad characters; an empty or short key would sign with (almost) nothing.
  if (key.length < 16) throw new Error('webhook signing secret is not a whsec_ base64 key');
  return key;
}

export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = keyOf(secret);
  try {
    return 'v1,' + createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  } finally {
    key.fill(0);
  }
}

export function signedHeaders(secret: string, id: string, timestampSeconds: number, body: string): WebhookHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': sign(secret, id, timestampSeconds, body),
  };
}
