import { createHmac } from 'node:crypto';
import { Fingerprinter, parsePepperRing } from '../../../src/crypto';

/* The keyed key reference audit events carry (docs/audit.md "Key references"). */

const ring = () => parsePepperRing(`1:${'a'.repeat(32)},2:${'b'.repeat(32)}`, 1);
const TENANT_A = '11111111-1111-4111-8111-111111111111';
const TENANT_B = '22222222-2222-4222-8222-222222222222';
const KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';

describe('Fingerprinter.auditKeyRef', () => {
  it('is kr<pepper version>_ and 32 hex digits, stable for one tenant and key', () => {
    const fp = ring();
    const ref = fp.auditKeyRef(TENANT_A, fp.fingerprint(KEY));
    expect(ref).toMatch(/^kr1_[0-9a-f]{32}$/);
    expect(fp.auditKeyRef(TENANT_A, fp.fingerprint(` ${KEY}\n`))).toBe(ref); // the fingerprint's normalisation
  });

  it('differs per tenant, per key, for the platform, and under another pepper version', () => {
    const fp = ring();
    const f = fp.fingerprint(KEY);
    const refs = [
      fp.auditKeyRef(TENANT_A, f),
      fp.auditKeyRef(TENANT_B, f),
      fp.auditKeyRef(null, f),
      fp.auditKeyRef(TENANT_A, fp.fingerprint(`${KEY}x`)),
      parsePepperRing(`1:${'a'.repeat(32)},2:${'b'.repeat(32)}`, 2).auditKeyRef(TENANT_A, f),
    ];
    expect(new Set(refs).size).toBe(refs.length);
    expect(refs[4]).toMatch(/^kr2_/);
  });

  it('holds neither the key nor its fingerprint, and is not a plain hash of the fingerprint', () => {
    const fp = new Fingerprinter(Buffer.alloc(32, 7));
    const f = fp.fingerprint(KEY);
    const ref = fp.auditKeyRef(TENANT_A, f).slice(4);
    expect(f.toString('hex')).not.toContain(ref.slice(0, 12));
    expect(ref).not.toContain(Buffer.from(KEY).toString('hex').slice(0, 12));
    // Without the pepper, an unkeyed (or wrongly keyed) HMAC of the fingerprint does not give it.
    expect(createHmac('sha256', TENANT_A).update(f).digest('hex').slice(0, 32)).not.toBe(ref);
  });
});
