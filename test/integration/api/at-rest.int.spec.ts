import { randomBytes } from 'node:crypto';
import { DecryptError, parseKeyring, SEALS, SecretBox, type Sealed } from '../../../src/crypto';
import { createCredential, expectOk, openaiKey, providerId, tenantWithTokens } from '../../factories';
import { startTestApp, type TestApp } from '../../helpers/test-app';
import { TEST_ENV } from '../../helpers/test-env';

let t: TestApp;
let openai: string;
beforeAll(async () => {
  t = await startTestApp();
  openai = await providerId(t, 'openai');
});
afterAll(() => t.close());

interface VersionRow {
  tenant_id: string;
  credential_id: string;
  version: number;
  kek_version: number;
  wrapped_key: Buffer;
  ciphertext: Buffer;
  fingerprint: Buffer;
}

async function versionRow(credentialId: string, version = 1): Promise<VersionRow> {
  const rows = await t.app.db.query(
    'SELECT tenant_id, credential_id, version, kek_version, wrapped_key, ciphertext, fingerprint FROM credential_versions WHERE credential_id = $1 AND version = $2',
    [credentialId, version],
  );
  expect(rows).toHaveLength(1);
  return rows[0];
}

/** Opens a stored row with the context of the row it sits in, as the worker would. */
async function open(box: SecretBox, row: VersionRow): Promise<string> {
  const sealed: Sealed = { kekVersion: row.kek_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext };
  return box.open(sealed, SEALS.credentialVersion.context({ tenantId: row.tenant_id, objectId: row.credential_id, version: row.version }));
}

async function stored(token: string, tenantId: string, secret = openaiKey(), app = t) {
  const { id } = await createCredential(app, token, { tenantId, providerId: openai, secret });
  return { id, secret };
}

/** Copies the sealed material of one version row onto another, in SQL, the way an attacker with DB access would. */
async function copySealed(from: { id: string; version?: number }, to: { id: string; version?: number }) {
  const result = await t.app.db.query(
    `UPDATE credential_versions dst
        SET kek_version = src.kek_version, wrapped_key = src.wrapped_key, ciphertext = src.ciphertext
       FROM credential_versions src
      WHERE src.credential_id = $1 AND src.version = $2 AND dst.credential_id = $3 AND dst.version = $4`,
    [from.id, from.version ?? 1, to.id, to.version ?? 1],
  );
  expect(result[1]).toBe(1);
}

describe('sealed key material is bound to its row', () => {
  it('a ciphertext copied onto another credential (same tenant, other tenant, other version) does not decrypt', async () => {
    const a = await tenantWithTokens(t);
    const b = await tenantWithTokens(t);
    const original = await stored(a.admin, a.tenant.id);
    const sameTenant = await stored(a.admin, a.tenant.id);
    const otherTenant = await stored(b.admin, b.tenant.id);
    const rotated = await stored(a.admin, a.tenant.id);
    // As the worker would after validating: v1 serves, so the rotation below keeps its material.
    await t.app.db.query(`UPDATE credential_versions SET state = 'ACTIVE', activated_at = now() WHERE credential_id = $1`, [rotated.id]);
    await t.app.db.query(`UPDATE credentials SET status = 'ACTIVE', current_version = 1 WHERE id = $1`, [rotated.id]);
    const next = openaiKey();
    await expectOk(
      t.gql(
        'mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { version } userErrors { code } } }',
        {
          input: { id: rotated.id, secret: next },
        },
        a.admin,
      ),
      'rotateCredential',
    );
    for (const target of [sameTenant, otherTenant, rotated]) expect(await open(t.app.services.box, await versionRow(target.id))).toBe(target.secret);
    expect(await open(t.app.services.box, await versionRow(rotated.id, 2))).toBe(next);

    await copySealed(original, sameTenant); // other credential: objectId differs
    await copySealed(original, otherTenant); // other tenant: tenantId and objectId differ
    await copySealed(rotated, { id: rotated.id, version: 2 }); // same credential, later version: only the version differs
    const pairs: [VersionRow, VersionRow][] = [
      [await versionRow(original.id), await versionRow(sameTenant.id)],
      [await versionRow(original.id), await versionRow(otherTenant.id)],
      [await versionRow(rotated.id), await versionRow(rotated.id, 2)],
    ];
    for (const [source, copy] of pairs) {
      expect(copy.ciphertext.equals(source.ciphertext)).toBe(true); // the bytes really moved
      expect(copy.wrapped_key.equals(source.wrapped_key)).toBe(true);
      await expect(async () => open(t.app.services.box, copy)).rejects.toThrow(DecryptError);
    }
    expect(await open(t.app.services.box, await versionRow(original.id))).toBe(original.secret);
    expect(await open(t.app.services.box, await versionRow(rotated.id))).toBe(rotated.secret);
  });

  it.each([
    ['the ciphertext body', 'ciphertext', -1],
    ['the GCM tag', 'ciphertext', 20],
    ['the format byte', 'ciphertext', 0],
    ['the wrapped data key', 'wrapped_key', 30],
  ] as const)('a flipped byte in %s fails to decrypt', async (_name, column, offset) => {
    const { tenant, admin } = await tenantWithTokens(t);
    const { id, secret } = await stored(admin, tenant.id);
    const before = await versionRow(id);
    expect(await open(t.app.services.box, before)).toBe(secret);
    const at = offset >= 0 ? offset : before[column].length + offset;
    await t.app.db.query(`UPDATE credential_versions SET ${column} = set_byte(${column}, $2, get_byte(${column}, $2) # 1) WHERE credential_id = $1`, [
      id,
      at,
    ]);
    const after = await versionRow(id);
    expect(after[column].equals(before[column])).toBe(false);
    await expect(async () => open(t.app.services.box, after)).rejects.toThrow(DecryptError);
    await expect(async () => open(t.app.services.box, after)).rejects.toThrow(/^secret could not be decrypted$/);
  });

  it('the same key stored twice gets different ciphertexts but the same fingerprint', async () => {
    const { tenant, admin } = await tenantWithTokens(t);
    const other = await tenantWithTokens(t);
    const secret = openaiKey();
    const rows = [
      await versionRow((await stored(admin, tenant.id, secret)).id),
      await versionRow((await stored(admin, tenant.id, secret)).id),
      await versionRow((await stored(other.admin, other.tenant.id, `  ${secret}\n`)).id), // pasted with whitespace
    ];
    const different = await versionRow((await stored(admin, tenant.id)).id);
    expect(rows[0].ciphertext.equals(rows[1].ciphertext)).toBe(false);
    expect(rows[0].wrapped_key.equals(rows[1].wrapped_key)).toBe(false);
    expect(rows[0].ciphertext.subarray(1, 13).equals(rows[1].ciphertext.subarray(1, 13))).toBe(false); // fresh IVs
    for (const row of rows) {
      expect(row.fingerprint.equals(t.app.services.fingerprinter.fingerprint(secret))).toBe(true);
      expect(await open(t.app.services.box, row)).toBe(secret);
    }
    expect(rows[0].fingerprint).toHaveLength(32);
    expect(different.fingerprint.equals(rows[0].fingerprint)).toBe(false);
  });
});

describe('master key rotation', () => {
  const oldKey = TEST_ENV.KEYPLANE_MASTER_KEYS.replace(/^1:/, '');
  const newKey = randomBytes(32).toString('base64');

  it('a second app with keyring 1:<old>,2:<new> seals with version 2 and still opens version 1 rows', async () => {
    expect(TEST_ENV.KEYPLANE_MASTER_KEYS).toBe(`1:${oldKey}`);
    const { tenant, admin } = await tenantWithTokens(t);
    const before = await stored(admin, tenant.id);
    const oldRow = await versionRow(before.id);
    expect(oldRow.kek_version).toBe(1);

    const rotatedApp = await startTestApp({ KEYPLANE_MASTER_KEYS: `1:${oldKey},2:${newKey}` });
    try {
      const after = await stored(admin, tenant.id, openaiKey(), rotatedApp);
      const newRow = await versionRow(after.id);
      expect(newRow.kek_version).toBe(2);
      expect(await open(rotatedApp.app.services.box, newRow)).toBe(after.secret);
      expect(await open(rotatedApp.app.services.box, oldRow)).toBe(before.secret);

      // The version number decides the KEK: without key 2 the new row is closed, without key 1 the old one.
      await expect(async () => open(t.app.services.box, newRow)).rejects.toThrow(DecryptError);
      const onlyNew = new SecretBox(parseKeyring(`2:${newKey}`));
      expect(await open(onlyNew, newRow)).toBe(after.secret);
      await expect(async () => open(onlyNew, oldRow)).rejects.toThrow(DecryptError);
      // Relabelling a v1 envelope as v2 does not help either.
      await expect(async () => open(rotatedApp.app.services.box, { ...oldRow, kek_version: 2 })).rejects.toThrow(DecryptError);
    } finally {
      await rotatedApp.close();
      // The database outlives this suite: move the version-2 rows back under version 1 and forget
      // key 2, or every later API (keyring 1 only) would rightly refuse to start (key custody).
      const back = new SecretBox(parseKeyring(`1:${oldKey},2:${newKey}`, 1));
      const rows: (VersionRow & { id: string })[] = await t.app.db.query(
        'SELECT id, tenant_id, credential_id, version, kek_version, wrapped_key, ciphertext FROM credential_versions WHERE kek_version = 2',
      );
      for (const row of rows) {
        const sealed = await back.rewrap(
          { kekVersion: row.kek_version, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
          SEALS.credentialVersion.context({ tenantId: row.tenant_id, objectId: row.credential_id, version: row.version }),
        );
        await t.app.db.query('UPDATE credential_versions SET kek_version = $2, wrapped_key = $3 WHERE id = $1', [
          row.id,
          sealed.kekVersion,
          sealed.wrappedKey,
        ]);
      }
      await t.app.db.query('DELETE FROM kek_check_values WHERE key_version = 2');
    }
  });
});
