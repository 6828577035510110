import type { FakeProvider } from '../fakes/fake-provider';
import type { TestApp } from '../helpers/test-app';
import { eventually, type TestWorkers } from '../helpers/test-worker';
import { createCredential, expectOk, openaiKey } from './index';

/** What happens to a stored key after createCredential, through the real mutations. */

export async function rotateCredential(t: TestApp, token: string | null, id: string, secret = openaiKey()) {
  const payload = await expectOk<{ credential: { id: string; version: number } }>(
    t.gql(
      'mutation($input: RotateCredentialInput!) { rotateCredential(input: $input) { credential { id version } userErrors { code } } }',
      { input: { id, secret } },
      token,
    ),
    'rotateCredential',
  );
  return { ...payload.credential, secret };
}

export async function revokeCredential(t: TestApp, token: string | null, id: string) {
  const payload = await expectOk<{ credential: { id: string; status: string } }>(
    t.gql(
      'mutation($input: RevokeCredentialInput!) { revokeCredential(input: $input) { credential { id status } userErrors { code } } }',
      { input: { id } },
      token,
    ),
    'revokeCredential',
  );
  return payload.credential;
}

export interface Attachment {
  gatewayId: string;
  credentialId: string;
  priority?: number;
}

/** Attaches a credential to a gateway; returns the gateway's new config version. */
export async function attachCredential(t: TestApp, token: string | null, input: Attachment): Promise<number> {
  const payload = await expectOk<{ gateway: { configVersion: number } }>(
    t.gql(
      'mutation($input: AttachCredentialInput!) { attachCredential(input: $input) { gateway { configVersion } userErrors { code } } }',
      { input },
      token,
    ),
    'attachCredential',
  );
  return payload.gateway.configVersion;
}

export async function detachCredential(t: TestApp, token: string | null, input: Omit<Attachment, 'priority'>): Promise<number> {
  const payload = await expectOk<{ gateway: { configVersion: number } }>(
    t.gql(
      'mutation($input: DetachCredentialInput!) { detachCredential(input: $input) { gateway { configVersion } userErrors { code } } }',
      { input },
      token,
    ),
    'detachCredential',
  );
  return payload.gateway.configVersion;
}

/**
 * Worker outcomes seeded in SQL, for API tests that run no worker: what validate-credential writes
 * after a first successful check (version 1 serves) ...
 */
export async function markActive(t: TestApp, credentialIds: string | string[], opts: { validated?: boolean } = {}): Promise<void> {
  const ids = Array.isArray(credentialIds) ? credentialIds : [credentialIds];
  await t.app.db.query(`UPDATE credentials SET status = 'ACTIVE', current_version = 1 WHERE id = ANY($1)`, [ids]);
  await t.app.db.query(
    `UPDATE credential_versions SET state = 'ACTIVE', activated_at = now() ${opts.validated ? ', validated_at = now()' : ''} WHERE credential_id = ANY($1)`,
    [ids],
  );
  // Written on another connection than the API's cache listener: wait until the API has heard it.
  await t.app.services.invalidations.sync();
}

/** ... and after a rotation's new key validated: version 2 serves, version 1 stays PREVIOUS until `retireAfter`. */
export async function promoteRotation(t: TestApp, credentialId: string, retireAfter: string): Promise<void> {
  await t.app.db.query(
    `UPDATE credential_versions SET state = CASE version WHEN 1 THEN 'PREVIOUS' ELSE 'ACTIVE' END,
            activated_at = CASE version WHEN 1 THEN activated_at ELSE now() END,
            retire_after = CASE version WHEN 1 THEN now() + $2::interval END
      WHERE credential_id = $1`,
    [credentialId, retireAfter],
  );
  await t.app.db.query(`UPDATE credentials SET status = 'ACTIVE', current_version = 2 WHERE id = $1`, [credentialId]);
}

/** A credential created through the API and made ACTIVE, as the worker would after a successful check. */
export async function activeCredential(
  t: TestApp,
  token: string | null,
  input: { tenantId: string; providerId: string; label?: string; secret?: string },
) {
  const secret = input.secret ?? openaiKey();
  const created = await createCredential(t, token, { ...input, secret });
  await markActive(t, created.id);
  return { id: created.id, secret };
}

/**
 * A credential whose first key validated on the real worker: the fake provider accepts the key,
 * the outbox is relayed and the credential reaches ACTIVE.
 */
export async function validatedCredential(
  t: TestApp,
  w: TestWorkers,
  fake: FakeProvider,
  token: string | null,
  input: { tenantId: string; providerId: string; secret?: string },
) {
  const secret = input.secret ?? openaiKey();
  fake.allow(secret);
  const { id } = await createCredential(t, token, { ...input, secret });
  await w.relay();
  await eventually(async () => (await t.app.db.query('SELECT status FROM credentials WHERE id = $1', [id]))[0].status === 'ACTIVE');
  return { id, secret };
}
