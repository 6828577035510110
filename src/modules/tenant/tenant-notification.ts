import { generateToken, type SealContext, type SecretBox } from '../../crypto';
import type { TenantEntity } from './tenant.entity';

/** AAD purpose of a tenant's notification signing secret: it only opens for the same tenant. */
export const NOTIFICATION_SECRET_PURPOSE = 'tenant-notification-signing-secret';

export function notificationSealContext(tenantId: string): SealContext {
  return { purpose: NOTIFICATION_SECRET_PURPOSE, tenantId, objectId: tenantId, version: 1 };
}

/** Generates and seals a new signing secret onto the tenant row; the plaintext is returned once. */
export function issueNotificationSecret(box: SecretBox, tenant: TenantEntity): string {
  const secret = generateToken('whsec');
  const sealed = box.seal(secret, notificationSealContext(tenant.id));
  tenant.notificationKekVersion = sealed.kekVersion;
  tenant.notificationWrappedKey = sealed.wrappedKey;
  tenant.notificationCiphertext = sealed.ciphertext;
  return secret;
}

/** For the webhook sender: the tenant's signing secret, or null when none was issued. */
export function openNotificationSecret(
  box: SecretBox,
  tenant: Pick<TenantEntity, 'id' | 'notificationKekVersion' | 'notificationWrappedKey' | 'notificationCiphertext'>,
): string | null {
  if (tenant.notificationKekVersion == null || !tenant.notificationWrappedKey || !tenant.notificationCiphertext) return null;
  return box.open(
    { kekVersion: tenant.notificationKekVersion, wrappedKey: tenant.notificationWrappedKey, ciphertext: tenant.notificationCiphertext },
    notificationSealContext(tenant.id),
  );
}
