import { generateToken, SEALS, type SealContext, type SecretBox } from '../../crypto';
import type { TenantEntity } from './tenant.entity';

const sealContext = (tenantId: string): SealContext => SEALS.tenantNotification.context({ tenantId, objectId: tenantId });

/** Generates and seals a new signing secret onto the tenant row; the plaintext is returned once. */
export async function issueNotificationSecret(box: SecretBox, tenant: TenantEntity): Promise<string> {
  const secret = generateToken('whsec');
  const sealed = await box.seal(secret, sealContext(tenant.id));
  tenant.notificationKekVersion = sealed.kekVersion;
  tenant.notificationWrappedKey = sealed.wrappedKey;
  tenant.notificationCiphertext = sealed.ciphertext;
  return secret;
}

/** For the webhook sender: the tenant's signing secret, or null when none was issued. */
export async function openNotificationSecret(
  box: SecretBox,
  tenant: Pick<TenantEntity, 'id' | 'notificationKekVersion' | 'notificationWrappedKey' | 'notificationCiphertext'>,
): Promise<string | null> {
  if (tenant.notificationKekVersion == null || !tenant.notificationWrappedKey || !tenant.notificationCiphertext) return null;
  return box.open(
    { kekVersion: tenant.notificationKekVersion, wrappedKey: tenant.notificationWrappedKey, ciphertext: tenant.notificationCiphertext },
    sealContext(tenant.id),
  );
}
