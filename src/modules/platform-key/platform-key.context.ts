import type { SealContext } from '../../crypto';

/** AAD purpose of platform keys; "platform" stands in for the tenant id, which they do not have. */
export const PLATFORM_KEY_PURPOSE = 'platform-key';
export const PLATFORM_TENANT = 'platform';

/** A platform key is never rotated in place (revoke and add another), so its version is always 1. */
export function platformKeyContext(id: string): SealContext {
  return { purpose: PLATFORM_KEY_PURPOSE, tenantId: PLATFORM_TENANT, objectId: id, version: 1 };
}
