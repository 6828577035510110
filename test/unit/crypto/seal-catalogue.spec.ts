import { DecryptError, parseKeyring, SEAL_KINDS, SEALS, SecretBox, type SealContext, type SealKind, type Sealed } from '../../../src/crypto';

const box = new SecretBox(parseKeyring(`7:${Buffer.alloc(32, 7).toString('base64')}`));
const T = '8a1f0d5e-0000-4000-8000-000000000001';
const O = '8a1f0d5e-0000-4000-8000-000000000002';
const refFor = (k: SealKind) => ({ tenantId: T, objectId: 'column' in k.tenant && k.tenant.column === k.objectColumn ? T : O, version: 3 });

/**
 * Sealed by the code before the catalogue existed (commit 122b09f), with its contexts written out:
 * rows already in databases must keep opening, so a changed purpose or context shape fails here.
 */
const WRITTEN_BEFORE: Record<keyof typeof SEALS, { ref: { tenantId: string; objectId: string; version: number }; wrapped: string; ct: string }> = {
  credentialVersion: {
    ref: { tenantId: T, objectId: O, version: 3 },
    wrapped: '3I5wWuKrF4NnUJvFSDfjVfU+ZkevdSNWHlrRnKrVE79zeZ5ZHJNprn9g2w9YyP3INAsXRUZyvX9JZc6W',
    ct: 'AcOpKIwSsHdNWJjxm1xZtMeKk2738zslsJqSfgV9hqI3DY9+765jtbvfi8ZNs2gWsG+oVJs=',
  },
  platformKey: {
    ref: { tenantId: T, objectId: O, version: 3 },
    wrapped: 'KN5hrCHlZS8zbOJ+EfPc6gi02Rofk7u8pROWej+tZj/IwVKEfNKG2wNRT/FqRUASU0QEZ9xt0ly5zosc',
    ct: 'AfGi3gC8qE4sWnW4/Dsiy+eXbaUUJ0PGZ01W2x8d1oTxX05SoQjx1dlFqKYVumM=',
  },
  gatewaySigning: {
    ref: { tenantId: T, objectId: O, version: 3 },
    wrapped: 'vI1ze+J1OBcvJLDo8unjbD4taUa/x9uMmDRtcL8nyUgYeZrQbGmR0GHX6B/4E4zQ0kWwK0e4T/nG6P3N',
    ct: 'Adxc5XMhDS8VYJw+wt2pNZByCDIu1/7RJYCAdKirpTBAVbm57sWh3w3xfD6EqkrJ6Tg=',
  },
  tenantNotification: {
    ref: { tenantId: T, objectId: T, version: 3 },
    wrapped: 'j0B785W7z2PBkZjjQU30b4u/9JFa9h2xqGqXX39/afSN9FowlZAadwFEdyw5STGQvX9NE08JiPNXUF0s',
    ct: 'AQyl00curuaw1Q6kpGeUTgxfHN9XAnPVqr4pyGACdvFavyECgr0WQwPZ3IMFEyVqf6Ut9rAv',
  },
  // Added with signing-secret rotation (issue 15 item 5): pinned from their first release on.
  gatewaySigningPrevious: {
    ref: { tenantId: T, objectId: O, version: 3 },
    wrapped: 'jutDm9qxlgcJBkDWN/RZSLGPSCf8jrAjfMm86mqgUBZ9NpK8Szpc/hBgrHlJw/bUFC336CqJiuqF2+Yv',
    ct: 'AaEIyiusseYb5OyWfdD+4pScvhZHgokHMpX9yl1JvrYj6XRUeMiiztJhpfI9lvrA4/zNguGBuu4bJQ==',
  },
  tenantNotificationPrevious: {
    ref: { tenantId: T, objectId: T, version: 3 },
    wrapped: 'T+W/D0PfMNskY1XS9CYrjBXnkrlCYwNeXMSgLMYgswdT5ENXe+7x49bQXgAVCrr8UqyjuYg7SgMLe1SW',
    ct: 'AYOHFHHcvLhrM0kmgyEt8c3GZ8gxwVMnPOxADYBVHz3eCOZzYoSzhjNks6PFGV3xjGUms3WcgsE7Poc6xk8=',
  },
};

async function expectNotOpen(sealed: Sealed, ctx: SealContext) {
  await expect(async () => box.open(sealed, ctx)).rejects.toThrow(DecryptError);
}

describe('the seal catalogue', () => {
  it('lists every kind once, with distinct kinds, purposes and sealed columns', async () => {
    expect(SEAL_KINDS).toEqual(Object.values(SEALS));
    const distinct = (xs: string[]) => expect(new Set(xs).size).toBe(xs.length);
    distinct(SEAL_KINDS.map((k) => k.kind));
    distinct(SEAL_KINDS.map((k) => k.purpose));
    distinct(SEAL_KINDS.flatMap((k) => Object.values(k.columns).map((c) => `${k.table}.${c}`)));
  });

  it.each(Object.entries(WRITTEN_BEFORE))('%s: a row sealed before the catalogue still opens', async (name, w) => {
    const kind = SEALS[name as keyof typeof SEALS];
    const sealed = { kekVersion: 7, wrappedKey: Buffer.from(w.wrapped, 'base64'), ciphertext: Buffer.from(w.ct, 'base64') };
    expect(await box.open(sealed, kind.context(w.ref))).toBe(`golden ${name}`);
  });

  it('builds exactly the context shape the secret box binds, fixing what the kind fixes', async () => {
    expect(SEALS.credentialVersion.context({ tenantId: T, objectId: O, version: 3 })).toEqual({
      purpose: 'credential-key',
      tenantId: T,
      objectId: O,
      version: 3,
    });
    expect(SEALS.platformKey.context({ objectId: O })).toEqual({ purpose: 'platform-key', tenantId: 'platform', objectId: O, version: 1 });
    expect(SEALS.gatewaySigning.context({ tenantId: T, objectId: O })).toEqual({
      purpose: 'gateway-signing-secret',
      tenantId: T,
      objectId: O,
      version: 1,
    });
    expect(SEALS.tenantNotification.context({ tenantId: T, objectId: T })).toEqual({
      purpose: 'tenant-notification-signing-secret',
      tenantId: T,
      objectId: T,
      version: 1,
    });
    for (const k of SEAL_KINDS) expect(Object.keys(k.context(refFor(k))).sort()).toEqual(['objectId', 'purpose', 'tenantId', 'version']);
  });

  it('never defaults a value a kind keeps in a column: sealing without it is refused', async () => {
    // @ts-expect-error the version is a column of credential versions
    const noVersion = SEALS.credentialVersion.context({ tenantId: T, objectId: O });
    // @ts-expect-error the tenant is a column of gateways
    const noTenant = SEALS.gatewaySigning.context({ objectId: O });
    await expect(async () => box.seal('k', noVersion)).rejects.toThrow(TypeError);
    await expect(async () => box.seal('k', noTenant)).rejects.toThrow(TypeError);
  });

  describe.each(SEAL_KINDS.map((k) => [k.kind, k] as const))('%s', (_name, kind) => {
    const ctx = kind.context(refFor(kind));
    let sealed: Sealed;
    beforeAll(async () => {
      sealed = await box.seal('secret', ctx);
    });

    it('opens only under its own context', async () => {
      expect(await box.open(sealed, ctx)).toBe('secret');
    });

    it.each(SEAL_KINDS.filter((other) => other !== kind).map((other) => [other.kind, other] as const))('does not open as %s', async (_o, other) => {
      await expectNotOpen(sealed, other.context(refFor(kind)));
    });

    it('does not open for another tenant, object or version', async () => {
      await expectNotOpen(sealed, { ...ctx, tenantId: '8a1f0d5e-0000-4000-8000-0000000000ff' });
      await expectNotOpen(sealed, { ...ctx, objectId: '8a1f0d5e-0000-4000-8000-0000000000fe' });
      await expectNotOpen(sealed, { ...ctx, version: ctx.version + 1 });
    });

    it('does not open when the row it is copied to has other column values', async () => {
      const moved = [
        'column' in kind.tenant ? { ...refFor(kind), tenantId: '8a1f0d5e-0000-4000-8000-0000000000ff' } : null,
        { ...refFor(kind), objectId: '8a1f0d5e-0000-4000-8000-0000000000fe' },
        'column' in kind.version ? { ...refFor(kind), version: 4 } : null,
      ];
      for (const ref of moved) if (ref) await expectNotOpen(sealed, kind.context(ref));
    });
  });
});
