import {
  DecryptError,
  KeyVersionUnavailableError,
  SecretBox,
  generateKeyMaterial,
  parseKeyring,
  type SealContext,
  type Sealed,
} from '../../../src/crypto';

const k1 = generateKeyMaterial();
const k2 = generateKeyMaterial();
const ctx: SealContext = { purpose: 'provider-credential', tenantId: 'tenant-a', objectId: 'cred-1', version: 1 };
const SECRET = 'sk-proj-Zq9Xv7Lm3Np1Rt5Wy8Bc2Df4Gh6Jk0';

const boxV1 = () => new SecretBox(parseKeyring(`1:${k1}`));
const boxV1V2 = () => new SecretBox(parseKeyring(`1:${k1},2:${k2}`));

async function expectDecryptError(fn: () => Promise<unknown>): Promise<DecryptError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecryptError);
    expect((e as Error).message).toBe('secret could not be decrypted');
    return e as DecryptError;
  }
  throw new Error('expected DecryptError');
}

describe('SecretBox', () => {
  it('round-trips, including empty and non-ASCII plaintext', async () => {
    const box = boxV1();
    for (const pt of [SECRET, '', 'clé 🔑 ключ']) expect(await box.open(await box.seal(pt, ctx), ctx)).toBe(pt);
  });

  it('produces the documented layout', async () => {
    const sealed = await boxV1().seal(SECRET, ctx);
    expect(sealed.kekVersion).toBe(1);
    expect(sealed.wrappedKey).toHaveLength(12 + 16 + 32);
    expect(sealed.ciphertext[0]).toBe(0x01);
    expect(sealed.ciphertext).toHaveLength(1 + 12 + 16 + Buffer.byteLength(SECRET));
    expect(sealed.ciphertext.includes(Buffer.from(SECRET))).toBe(false);
  });

  it('uses a fresh data key and IVs for every seal', async () => {
    const box = boxV1();
    const a = await box.seal(SECRET, ctx);
    const b = await box.seal(SECRET, ctx);
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.wrappedKey.subarray(0, 12).equals(b.wrappedKey.subarray(0, 12))).toBe(false);
    expect(a.ciphertext.subarray(1, 13).equals(b.ciphertext.subarray(1, 13))).toBe(false);
  });

  it('rejects a flipped bit at every byte of ciphertext and wrappedKey', async () => {
    const box = boxV1();
    const sealed = await box.seal(SECRET, ctx);
    for (const field of ['ciphertext', 'wrappedKey'] as const) {
      for (let i = 0; i < sealed[field].length; i++) {
        const tampered = Buffer.from(sealed[field]);
        tampered[i] ^= 0x01;
        await expectDecryptError(() => box.open({ ...sealed, [field]: tampered }, ctx));
      }
    }
  });

  it.each<[string, Partial<SealContext>]>([
    ['another tenant', { tenantId: 'tenant-b' }],
    ['another row', { objectId: 'cred-2' }],
    ['another version', { version: 2 }],
    ['another purpose', { purpose: 'webhook-secret' }],
    ['a shifted field boundary (tenant-a|cred-1 vs tenant-|acred-1)', { tenantId: 'tenant-', objectId: 'acred-1' }],
  ])('fails when moved to %s', async (_label, change) => {
    const box = boxV1();
    const sealed = await box.seal(SECRET, ctx);
    await expectDecryptError(() => box.open(sealed, { ...ctx, ...change }));
    await expectDecryptError(() => box.rewrap(sealed, { ...ctx, ...change }));
  });

  it('fails on a wrappedKey swapped in from another row', async () => {
    const box = boxV1();
    const a = await box.seal(SECRET, ctx);
    const b = await box.seal(SECRET, { ...ctx, objectId: 'cred-2' });
    await expectDecryptError(() => box.open({ ...a, wrappedKey: b.wrappedKey }, ctx));
  });

  it('fails on truncated or malformed input', async () => {
    const box = boxV1();
    const sealed = await box.seal(SECRET, ctx);
    for (const n of [0, 1, 13, 29, sealed.ciphertext.length - 1]) {
      await expectDecryptError(() => box.open({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, n) }, ctx));
    }
    for (const n of [0, 12, 28, 59]) {
      await expectDecryptError(() => box.open({ ...sealed, wrappedKey: sealed.wrappedKey.subarray(0, n) }, ctx));
    }
    await expectDecryptError(() => box.open({ ...sealed, kekVersion: -1 }, ctx));
    await expect(async () => box.open({ ...sealed, kekVersion: 2 }, ctx)).rejects.toThrow(KeyVersionUnavailableError);
    await expectDecryptError(() => box.open({ ...sealed, ciphertext: 'x' } as unknown as Sealed, ctx));
    await expectDecryptError(() => box.open(null as unknown as Sealed, ctx));
  });

  it('opens v1 rows after v2 is added, and seals new rows under v2', async () => {
    const old = await boxV1().seal(SECRET, ctx);
    const box = boxV1V2();
    expect(await box.open(old, ctx)).toBe(SECRET);
    expect((await box.seal(SECRET, ctx)).kekVersion).toBe(2);
  });

  it('rewrap moves v1 -> v2 without touching the ciphertext', async () => {
    const old = await boxV1().seal(SECRET, ctx);
    const rewrapped = await boxV1V2().rewrap(old, ctx);
    expect(rewrapped.kekVersion).toBe(2);
    expect(rewrapped.ciphertext.equals(old.ciphertext)).toBe(true);
    expect(rewrapped.wrappedKey.equals(old.wrappedKey)).toBe(false);
    // v1 can now be retired entirely
    expect(await new SecretBox(parseKeyring(`2:${k2}`)).open(rewrapped, ctx)).toBe(SECRET);
  });

  it('binds kekVersion: relabelling a v2 wrap as v1 fails even when both keys are equal', async () => {
    const box = new SecretBox(parseKeyring(`1:${k1},2:${k1}`));
    const sealed = await box.seal(SECRET, ctx);
    await expectDecryptError(() => box.open({ ...sealed, kekVersion: 1 }, ctx));
  });

  it('cannot open a v1 row with a keyring that lacks v1', async () => {
    const old = await boxV1().seal(SECRET, ctx);
    // A version the ring lacks is its own error (still a DecryptError): nothing was tampered with.
    await expect(async () => new SecretBox(parseKeyring(`2:${k2}`)).open(old, ctx)).rejects.toThrow(KeyVersionUnavailableError);
    await expect(async () => new SecretBox(parseKeyring(`2:${k2}`)).rewrap(old, ctx)).rejects.toThrow(KeyVersionUnavailableError);
    await expect(async () => new SecretBox(parseKeyring(`2:${k2}`)).open(old, ctx)).rejects.toThrow(DecryptError);
    // A wrong key under the right version is a plain DecryptError.
    const wrong = await expectDecryptError(() => new SecretBox(parseKeyring(`1:${k2}`)).open(old, ctx));
    expect(wrong).not.toBeInstanceOf(KeyVersionUnavailableError);
  });

  it('rewrap refuses a record whose ciphertext was tampered with (the wrap alone would still open)', async () => {
    const old = await boxV1().seal(SECRET, ctx);
    const ciphertext = Buffer.from(old.ciphertext);
    ciphertext[ciphertext.length - 1] ^= 1;
    await expectDecryptError(() => boxV1V2().rewrap({ ...old, ciphertext }, ctx));
  });

  it('seals under the configured current version, not the highest', async () => {
    const box = new SecretBox(parseKeyring(`1:${k1},2:${k2}`, 1));
    expect((await box.seal(SECRET, ctx)).kekVersion).toBe(1);
    expect(box.currentKeyVersion).toBe(1);
    expect(box.hasKeyVersion(2)).toBe(true);
    expect(box.hasKeyVersion(3)).toBe(false);
  });

  it('DecryptError carries no plaintext, ciphertext or cause', async () => {
    const box = boxV1();
    const sealed = await box.seal(SECRET, ctx);
    const err = await expectDecryptError(() => box.open(sealed, { ...ctx, tenantId: 'tenant-b' }));
    const dump = `${err.message}\n${err.stack}\n${JSON.stringify(err)}\n${String(err)}`;
    for (const needle of [
      SECRET,
      SECRET.slice(8, 20),
      sealed.ciphertext.toString('hex').slice(0, 16),
      sealed.ciphertext.toString('base64').slice(0, 16),
    ]) {
      expect(dump).not.toContain(needle);
    }
    expect(err.cause).toBeUndefined();
  });

  it('refuses to seal with an incomplete context', async () => {
    const box = boxV1();
    await expect(async () => box.seal(SECRET, { ...ctx, tenantId: '' })).rejects.toThrow(TypeError);
    await expect(async () => box.seal(SECRET, { ...ctx, version: 1.5 })).rejects.toThrow(TypeError);
  });
});
