import { registerEnumType } from 'type-graphql';
import { USER_ERROR_CODES } from '../errors';
import { CREDENTIAL_KINDS, CREDENTIAL_STATUSES, VERSION_STATES } from '../modules/credential/credential.entity';
import { CREDENTIAL_MODES } from '../modules/gateway/gateway.entity';
import { BYOK_MODES } from '../modules/tenant/tenant.entity';
import { TENANT_ROLES } from '../modules/token/token.entity';
import { ACTOR_TYPES } from '../modules/audit/audit.entity';
import { API_SHAPES, AUTH_SCHEMES, KEY_TEST_OUTCOMES } from '../providers/types';
import { ALERT_SCOPES, ALERT_SEVERITIES, ALERT_STATUSES } from '../modules/alert/alert.entity';
import { RESCAN_STATES } from '../modules/alert/key-reuse.rules';
import { REMINDER_THRESHOLDS } from '../modules/reminder/reminder.entity';
import { DELIVERY_STATUSES, ERROR_CLASSES, WEBHOOK_KINDS } from '../modules/webhook/webhook.entity';

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
  description: "Whose provider keys a tenant uses: the platform's, its own, or its own first.",
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
export const ReminderThresholdEnum = asEnum(REMINDER_THRESHOLDS);
export const DeliveryStatusEnum = asEnum(DELIVERY_STATUSES);
registerEnumType(ReminderThresholdEnum, {
  name: 'ReminderThreshold',
  description: 'How close a key is to its rotate-by date: 14, 7 or 1 days before, or past it.',
});
registerEnumType(DeliveryStatusEnum, {
  name: 'WebhookDeliveryStatus',
  description: 'Where a webhook message is: not sent yet, delivered, being retried, or given up (dead letter).',
});
export const AlertSeverityEnum = asEnum(ALERT_SEVERITIES);
export const AlertScopeEnum = asEnum(ALERT_SCOPES);
export const AlertStatusEnum = asEnum(ALERT_STATUSES);
export const RescanStateEnum = asEnum(RESCAN_STATES);
registerEnumType(AlertSeverityEnum, {
  name: 'KeyReuseAlertSeverity',
  description: 'INFO: shared within the tenant; WARNING: with another tenant; HIGH: an OAuth token shared with another tenant.',
});
registerEnumType(AlertScopeEnum, { name: 'KeyReuseAlertScope', description: 'Where else the key is stored: in the same tenant or in another one.' });
registerEnumType(AlertStatusEnum, {
  name: 'KeyReuseAlertStatus',
  description: 'OPEN, ACKNOWLEDGED or DISMISSED by a person, or RESOLVED once the credential no longer holds the key.',
});
registerEnumType(RescanStateEnum, { name: 'KeyRescanState', description: 'QUEUED (not yet in the queue), WAITING, ACTIVE, COMPLETED or FAILED.' });
export const WebhookKindEnum = asEnum(WEBHOOK_KINDS);
/** Values no attempt records any more (all are UNREACHABLE now), kept deprecated for clients that switch on them. */
const RETIRED_ERROR_CLASSES = ['BLOCKED_ADDRESS', 'CONNECTION', 'TIMEOUT'] as const;
export const WebhookErrorClassEnum = asEnum([...ERROR_CLASSES, ...RETIRED_ERROR_CLASSES]);
registerEnumType(WebhookKindEnum, {
  name: 'WebhookKind',
  description: "What a webhook message is about: a gateway's config changed, or a key is due for rotation.",
});
registerEnumType(WebhookErrorClassEnum, {
  name: 'WebhookErrorClass',
  description: "Why a webhook attempt failed, coarsely. The receiver's response body is never kept or shown.",
  valuesConfig: {
    UNREACHABLE: {
      description:
        'No answer within WEBHOOK_TIMEOUT_MS, whatever the cause (address or destination not allowed by the outbound policy, unknown name, refused, reset, timeout, TLS); retried. Reported when the deadline has passed.',
    },
    HTTP_4XX: { description: 'The receiver answered 4xx.' },
    HTTP_5XX: { description: 'The receiver answered 5xx (or another non-2xx status).' },
    REDIRECT: { description: 'The receiver answered with a redirect, which is never followed.' },
    INVALID_URL: { description: 'The URL is not an absolute http(s) URL; not retried.' },
    NO_URL: { description: 'No webhook URL or signing secret is configured; not retried.' },
    BLOCKED_ADDRESS: { description: 'No longer recorded.', deprecationReason: 'Every failure to reach a receiver is UNREACHABLE.' },
    CONNECTION: { description: 'No longer recorded.', deprecationReason: 'Every failure to reach a receiver is UNREACHABLE.' },
    TIMEOUT: { description: 'No longer recorded.', deprecationReason: 'Every failure to reach a receiver is UNREACHABLE.' },
  },
});
