import { registerEnumType } from 'type-graphql';
import { USER_ERROR_CODES } from '../errors';
import { CREDENTIAL_KINDS, CREDENTIAL_STATUSES, VERSION_STATES } from '../modules/credential/credential.entity';
import { CREDENTIAL_MODES } from '../modules/gateway/gateway.entity';
import { BYOK_MODES } from '../modules/tenant/tenant.entity';
import { TENANT_ROLES } from '../modules/token/token.entity';
import { ACTOR_TYPES } from '../modules/audit/audit.entity';
import { API_SHAPES, AUTH_SCHEMES, KEY_TEST_OUTCOMES } from '../providers/types';

/** type-graphql wants an object; our enums are const arrays shared with the entities. */
function asEnum<T extends string>(values: readonly T[]): { [K in T]: K } {
  return Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
}

export const ByokModeEnum = asEnum(BYOK_MODES);
export const CredentialKindEnum = asEnum(CREDENTIAL_KINDS);
export const CredentialStatusEnum = asEnum(CREDENTIAL_STATUSES);
export const VersionStateEnum = asEnum(VERSION_STATES);
export const CredentialModeEnum = asEnum(CREDENTIAL_MODES);
export const TenantRoleEnum = asEnum(TENANT_ROLES);
export const RoleEnum = asEnum(['PLATFORM_ADMIN', ...TENANT_ROLES] as const);
export const ActorTypeEnum = asEnum(ACTOR_TYPES);
export const ApiShapeEnum = asEnum(API_SHAPES);
export const AuthSchemeEnum = asEnum(AUTH_SCHEMES);
export const KeyTestOutcomeEnum = asEnum(KEY_TEST_OUTCOMES);
export const UserErrorCodeEnum = asEnum(USER_ERROR_CODES);

registerEnumType(ByokModeEnum, {
  name: 'ByokMode',
  description: 'Whose provider keys a tenant uses: the platform\'s, its own, or its own first.',
});
registerEnumType(CredentialKindEnum, { name: 'CredentialKind', description: 'What kind of secret a credential holds.' });
registerEnumType(CredentialStatusEnum, {
  name: 'CredentialStatus',
  description: 'PENDING_VALIDATION after create or rotate until the worker checks the key; REVOKED is final.',
});
registerEnumType(VersionStateEnum, { name: 'CredentialVersionState', description: 'Lifecycle of one stored key version.' });
registerEnumType(CredentialModeEnum, {
  name: 'CredentialMode',
  description: "Which keys a gateway is served: the tenant's only, the platform's only, or the tenant's first.",
});
registerEnumType(TenantRoleEnum, { name: 'TenantRole', description: 'ADMIN manages keys and gateways; VIEWER reads metadata.' });
registerEnumType(RoleEnum, { name: 'Role', description: 'The role of the calling token.' });
registerEnumType(ActorTypeEnum, { name: 'ActorType', description: 'Who performed an audited action.' });
registerEnumType(ApiShapeEnum, { name: 'ApiShape', description: 'The HTTP API family a provider speaks; picks the validator.' });
registerEnumType(AuthSchemeEnum, { name: 'AuthScheme', description: 'The header a provider expects the key in.' });
registerEnumType(KeyTestOutcomeEnum, {
  name: 'KeyTestOutcome',
  description: 'The result of checking a key against its provider.',
  valuesConfig: {
    VALID: { description: 'The provider accepted the key.' },
    INVALID: { description: 'The provider rejected the key.' },
    VALID_NO_QUOTA: { description: 'The key works but the account has no quota or credit.' },
    VALID_RESTRICTED: { description: 'The key works but is restricted (scope, organization, IP or region).' },
    RATE_LIMITED: { description: 'The provider rate-limited the check; try again later.' },
    PROVIDER_UNAVAILABLE: { description: 'The provider failed, was overloaded or did not answer in time.' },
    UNKNOWN: { description: 'The provider answered in a way we could not classify.' },
  },
});
registerEnumType(UserErrorCodeEnum, { name: 'UserErrorCode', description: 'Machine-readable reason for a userErrors entry.' });
