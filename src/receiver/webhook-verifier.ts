import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * For webhook receivers (gateways, tenants' notification endpoints), not used by Keyplane itself:
 * verifies a Keyplane webhook as Standard Webhooks specifies (https://www.standardwebhooks.com)
 * and refuses a `webhook-id` it has already accepted within the timestamp tolerance, so a captured
 * request replayed within those minutes does nothing. Several secrets may be given (the old and
 * the new one while a secret rotates); several `v1,` signatures may be sent, space-separated.
 * Dependency-free on purpose: copy this file into a receiver, or import it from the package.
 */

export type WebhookVerificationCode = 'MISSING_HEADERS' | 'BAD_TIMESTAMP' | 'TIMESTAMP_OUT_OF_TOLERANCE' | 'BAD_SIGNATURE' | 'REPLAYED';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(readonly code: WebhookVerificationCode) {
    super(`webhook refused: ${code.toLowerCase().replace(/_/g, ' ')}`);
  }
}

/** Where accepted ids are remembered; the in-memory one serves one process, a shared one (Redis SET NX EX) several. */
export interface ReplayStore {
  /** Records `id` until `expiresAtMs`; false when it was already recorded and not yet expired. */
  remember(id: string, expiresAtMs: number): boolean | Promise<boolean>;
}

export interface VerifierOptions {
  /** `whsec_…` secrets; a message signed by any of them is accepted. */
  secrets: readonly string[];
  /** How far the timestamp may be from this clock, in seconds (default 300, the spec's 5 minutes). */
  toleranceSeconds?: number;
  replays?: ReplayStore;
  now?: () => number;
}

export type Headers = Record<string, string | string[] | undefined>;

export function createWebhookVerifier(options: VerifierOptions) {
  const keys = options.secrets.map(keyOf);
  if (keys.length === 0) throw new Error('at least one webhook secret is required');
  const tolerance = options.toleranceSeconds ?? 300;
  const replays = options.replays ?? new MemoryReplayStore();
  const now = options.now ?? Date.now;

  /** The parsed payload of a genuine, first-seen message; a WebhookVerificationError otherwise. */
  return async function verify<T = unknown>(headers: Headers, rawBody: string | Buffer): Promise<T> {
    const id = one(headers['webhook-id']);
    const timestamp = one(headers['webhook-timestamp']);
    const signatures = one(headers['webhook-signature']);
    if (!id || !timestamp || !signatures) throw new WebhookVerificationError('MISSING_HEADERS');
    if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('BAD_TIMESTAMP');
    const sentAtMs = Number(timestamp) * 1000;
    if (Math.abs(now() - sentAtMs) > tolerance * 1000) throw new WebhookVerificationError('TIMESTAMP_OUT_OF_TOLERANCE');
    const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
    const signed = `${id}.${timestamp}.${body}`;
    const given = signatures
      .split(' ')
      .map((entry) => entry.split(','))
      .filter(([version, value]) => version === 'v1' && value)
      .map(([, value]) => Buffer.from(value, 'base64'));
    const genuine = keys.some((key) => {
      const expected = createHmac('sha256', key).update(signed, 'utf8').digest();
      return given.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected));
    });
    if (!genuine) throw new WebhookVerificationError('BAD_SIGNATURE');
    // Only after the signature holds: a forger must not be able to burn a genuine id. Kept past the
    // tolerance window, after which the timestamp check refuses the replay on its own.
    if (!(await replays.remember(id, sentAtMs + tolerance * 1000 + 1000))) throw new WebhookVerificationError('REPLAYED');
    return JSON.parse(body) as T;
  };
}

/** Accepted ids of the last tolerance window, in memory (bounded: the oldest go first). */
export class MemoryReplayStore implements ReplayStore {
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly maxIds = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  remember(id: string, expiresAtMs: number): boolean {
    const at = this.now();
    const until = this.ids.get(id);
    if (until !== undefined && until > at) return false;
    this.ids.delete(id);
    if (this.ids.size >= this.maxIds) {
      for (const [key, expiry] of this.ids) if (expiry <= at) this.ids.delete(key);
      while (this.ids.size >= this.maxIds) this.ids.delete(this.ids.keys().next().value!);
    }
    this.ids.set(id, expiresAtMs);
    return true;
  }
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function keyOf(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  if (key.length < 16) throw new Error('a webhook secret is a whsec_ base64 key');
  return key;
}
