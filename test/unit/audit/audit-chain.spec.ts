import { createHash, randomBytes } from 'node:crypto';
import { parseKeyring } from '../../../src/crypto';
import { AuditSigner, verifyAuditSignature } from '../../../src/crypto/audit-signing';
import { canonicalRow, checkpointMessage, GENESIS_HASH, rowHash } from '../../../src/modules/audit/audit-chain';

const row = {
  id: '0b9f7c6e-1d2a-4c3b-8e4f-5a6b7c8d9e0f',
  tenantId: null,
  seq: '9007199254740993', // beyond 2^53: never through a double
  actorType: 'SYSTEM',
  actorId: null,
  action: 'PROVIDER_HOST_CHANGED',
  targetType: 'PROVIDER',
  targetId: 'p1',
  details: '{"a": "é\\n\\u0001", "n": 1.50}',
  requestId: 'req "1"',
  createdAt: '2026-01-02T03:04:05.123456Z',
};

describe('canonical encoding (docs/audit.md)', () => {
  it('is JSON with sorted keys, no whitespace, seq a number, details a string', () => {
    expect(canonicalRow(row)).toBe(
      '{"action":"PROVIDER_HOST_CHANGED","actor_id":null,"actor_type":"SYSTEM","created_at":"2026-01-02T03:04:05.123456Z",' +
        '"details":"{\\"a\\": \\"é\\\\n\\\\u0001\\", \\"n\\": 1.50}","id":"0b9f7c6e-1d2a-4c3b-8e4f-5a6b7c8d9e0f",' +
        '"request_id":"req \\"1\\"","seq":9007199254740993,"target_id":"p1","target_type":"PROVIDER","tenant_id":null}',
    );
  });

  it('hash = SHA-256 of prev_hash then the encoding, as UTF-8', () => {
    const expected = createHash('sha256')
      .update(Buffer.from(GENESIS_HASH + canonicalRow(row), 'utf8'))
      .digest('hex');
    expect(rowHash(GENESIS_HASH, row)).toBe(expected);
    expect(rowHash(GENESIS_HASH, { ...row, details: '{}' })).not.toBe(expected);
  });

  it('refuses a seq that is not a positive integer', () => {
    expect(() => canonicalRow({ ...row, seq: '1e3' })).toThrow();
  });
});

describe('checkpoint signatures', () => {
  const ring = parseKeyring(`1:${randomBytes(32).toString('base64')},2:${randomBytes(32).toString('base64')}`);
  const signer = new AuditSigner(ring);
  const cp = { tenantId: 't1', seq: '12', hash: 'ab'.repeat(32), signedAt: '2026-01-02T03:04:05.123Z' };

  it('signs with the highest version; the public keys verify it, and nothing else', () => {
    const { keyVersion, signature } = signer.sign(checkpointMessage(cp));
    expect(keyVersion).toBe(2);
    const keys = signer.publicKeys();
    expect(keys.map((k) => k.version)).toEqual([1, 2]);
    expect(verifyAuditSignature(keys, 2, checkpointMessage(cp), signature)).toBe(true);
    expect(verifyAuditSignature(keys, 1, checkpointMessage(cp), signature)).toBe(false);
    expect(verifyAuditSignature(keys, 2, checkpointMessage({ ...cp, seq: '13' }), signature)).toBe(false);
    expect(verifyAuditSignature(keys, 3, checkpointMessage(cp), signature)).toBe(false);
  });

  it('keeps private keys out of inspection and JSON', () => {
    expect(JSON.stringify(signer)).not.toMatch(/privateKey/);
    expect(require('node:util').inspect(signer)).not.toMatch(/PrivateKey|seed/i);
  });
});
