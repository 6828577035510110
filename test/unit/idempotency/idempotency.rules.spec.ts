import { Fingerprinter } from '../../../src/crypto';
import { DomainError } from '../../../src/errors';
import { credentialSnapshot, restoreCredential } from '../../../src/modules/credential/credential-snapshot';
import type { CredentialEntity } from '../../../src/modules/credential/credential.entity';
import { gatewaySnapshot } from '../../../src/modules/gateway/gateway-snapshot';
import type { GatewayEntity } from '../../../src/modules/gateway/gateway.entity';
import { canonicalJson, checkIdempotencyKey, sameRequest } from '../../../src/modules/idempotency/idempotency.rules';

const FIELD = ['input', 'idempotencyKey'];

describe('checkIdempotencyKey', () => {
  it.each(['a', 'retry-1', '550e8400-e29b-41d4-a716-446655440000', 'x'.repeat(255), 'é'.repeat(255), 'with space'])('accepts %p', (key) => {
    expect(() => checkIdempotencyKey(key, FIELD)).not.toThrow();
  });

  it.each(['', '   ', 'x'.repeat(256), 'a\nb', 'a\tb', 'a\u0000b', 'a\u007fb'])('refuses %p with IDEMPOTENCY_KEY_INVALID, not echoing it', (key) => {
    let error: unknown;
    try {
      checkIdempotencyKey(key, FIELD);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID', field: FIELD });
    if (key.trim()) expect((error as Error).message).not.toContain(key);
  });
});

describe('canonicalJson', () => {
  it('is the same text whatever the order of keys, at every level, and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('tells values apart that a naive join would not', () => {
    expect(canonicalJson(['a,b', 'c'])).not.toBe(canonicalJson(['a', 'b,c']));
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson({ a: null })).not.toBe(canonicalJson({}));
  });
});

describe('sameRequest', () => {
  const h = (s: string) => Buffer.from(s.padEnd(32, '.'));
  it('matches the same operation and hash only', () => {
    expect(sameRequest({ operation: 'ROTATE_CREDENTIAL', requestHash: h('a') }, 'ROTATE_CREDENTIAL', h('a'))).toBe(true);
    expect(sameRequest({ operation: 'ROTATE_CREDENTIAL', requestHash: h('a') }, 'ROTATE_CREDENTIAL', h('b'))).toBe(false);
    expect(sameRequest({ operation: 'ROTATE_CREDENTIAL', requestHash: h('a') }, 'CREATE_CREDENTIAL', h('a'))).toBe(false);
    expect(sameRequest({ operation: 'ROTATE_CREDENTIAL', requestHash: h('a') }, 'ROTATE_CREDENTIAL', Buffer.from('short'))).toBe(false);
  });

  it('an erased hash (the credential was revoked) replays for the same operation only', () => {
    expect(sameRequest({ operation: 'CREATE_CREDENTIAL', requestHash: null }, 'CREATE_CREDENTIAL', h('anything'))).toBe(true);
    expect(sameRequest({ operation: 'CREATE_CREDENTIAL', requestHash: null }, 'ROTATE_CREDENTIAL', h('anything'))).toBe(false);
  });
});

describe('Fingerprinter.keyedHash', () => {
  const f = new Fingerprinter(Buffer.alloc(32, 3));
  it('is keyed, deterministic and separated by domain from fingerprints and from other domains', () => {
    const secret = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123';
    expect(f.keyedHash('idempotency-request', secret).equals(f.keyedHash('idempotency-request', secret))).toBe(true);
    expect(f.keyedHash('idempotency-request', secret).equals(f.fingerprint(secret))).toBe(false);
    expect(f.keyedHash('idempotency-request', secret).equals(f.keyedHash('idempotency-key', secret))).toBe(false);
    expect(f.keyedHash('idempotency-request', secret).equals(new Fingerprinter(Buffer.alloc(32, 4)).keyedHash('idempotency-request', secret))).toBe(
      false,
    );
    // Not trimmed like a key: a trailing space is a different request.
    expect(f.keyedHash('d', 'a').equals(f.keyedHash('d', 'a '))).toBe(false);
  });
});

describe('stored answers', () => {
  it('a credential round-trips through JSON with its dates, and only its listed metadata is stored', () => {
    const c = {
      id: 'c1',
      tenantId: 't1',
      providerId: 'p1',
      label: 'prod',
      kind: 'API_KEY',
      status: 'PENDING_VALIDATION',
      currentVersion: null,
      latestVersion: 2,
      redactedKey: 'sk-proj-…AbCd',
      rotationPeriodDays: null,
      rotateBy: new Date('2027-01-01T00:00:00Z'),
      lastValidationOutcome: null,
      lastValidatedAt: null,
      lastValidationModels: null,
      lastValidationMessage: null,
      createdAt: new Date('2026-01-01T00:00:00Z'),
      updatedAt: new Date('2026-01-02T00:00:00Z'),
      rotatedAt: null,
      revokedAt: null,
      secretByAccident: 'sk-proj-should-never-be-stored',
    } as unknown as CredentialEntity;
    const stored = JSON.parse(JSON.stringify(credentialSnapshot(c)));
    expect(JSON.stringify(stored)).not.toContain('should-never');
    const { secretByAccident: _dropped, ...expected } = c as unknown as Record<string, unknown>;
    expect(restoreCredential(stored)).toEqual(expected);
  });

  it("a gateway's stored answer never holds its key hash or sealed signing secret", () => {
    const g = {
      id: 'g1',
      keyHash: Buffer.from('hash'),
      signingCiphertext: Buffer.from('sealed'),
      createdAt: new Date(0),
    } as unknown as GatewayEntity;
    const stored = gatewaySnapshot(g);
    expect(Object.keys(stored)).not.toContain('keyHash');
    expect(Object.keys(stored).filter((k) => k.startsWith('signing'))).toEqual([]);
  });
});
