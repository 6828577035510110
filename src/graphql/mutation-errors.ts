import type { GraphQLSchema } from 'graphql';
import type { UserErrorCode } from '../errors';

/*
 * Which userErrors codes each mutation can return, so a client switches on those and no others.
 * Published in each mutation's description (appended at schema build, so the SDL and introspection
 * carry it) and in docs/graphql-api.md. A list, not a per-mutation error union: a union would change
 * every payload's userErrors type, a breaking change for every client. Adding a code a mutation can
 * return means adding it here: test/unit/schema/mutation-errors.spec.ts checks every mutation has a
 * valid list, and the integration harness (test/helpers/declared-error-codes.ts) fails any request
 * whose userErrors carry a code its mutation does not declare. Errors outside userErrors (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED, BAD_USER_INPUT,
 * SERVICE_UNAVAILABLE, INTERNAL_SERVER_ERROR) come in `errors` with extensions.code.
 */
const SECRET: UserErrorCode[] = ['SECRET_EMPTY', 'SECRET_MULTILINE', 'SECRET_INVALID_CHARACTERS', 'SECRET_TOO_LONG'];
const KEY_SHAPE: UserErrorCode[] = [...SECRET, 'KEY_FORMAT_MISMATCH', 'KEY_BELONGS_TO_OTHER_PROVIDER'];
const IDEMPOTENCY: UserErrorCode[] = ['IDEMPOTENCY_KEY_INVALID', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_IN_USE'];
const NAME: UserErrorCode[] = ['NAME_INVALID', 'NAME_TOO_LONG'];
const LABEL: UserErrorCode[] = ['LABEL_INVALID', 'LABEL_TOO_LONG'];
const URL: UserErrorCode[] = ['URL_INVALID', 'URL_NOT_ALLOWED'];

export const MUTATION_ERROR_CODES: Record<string, readonly UserErrorCode[]> = {
  acknowledgeKeyReuseAlert: ['NOT_FOUND', 'ALERT_RESOLVED'],
  attachCredential: ['NOT_FOUND', 'ALREADY_ATTACHED', 'ATTACHMENT_LIMIT_REACHED', 'CREDENTIAL_REVOKED', 'OUT_OF_RANGE'],
  confirmProviderHost: ['NOT_FOUND', 'HOST_CHANGED'],
  createApiToken: ['NOT_FOUND', ...NAME],
  createCredential: ['NOT_FOUND', ...LABEL, 'LABEL_TAKEN', 'OUT_OF_RANGE', ...KEY_SHAPE, 'UNKNOWN_PROVIDER', 'PROVIDER_DISABLED', ...IDEMPOTENCY],
  createGateway: ['NOT_FOUND', ...NAME, 'SLUG_INVALID', 'SLUG_TAKEN', 'INVALID_INPUT', ...URL],
  createPlatformKey: [...LABEL, 'OUT_OF_RANGE', ...KEY_SHAPE, 'UNKNOWN_PROVIDER', 'PROVIDER_DISABLED'],
  createTenant: [...NAME, 'SLUG_INVALID', 'SLUG_TAKEN', 'OUT_OF_RANGE'],
  detachCredential: ['NOT_FOUND', 'NOT_ATTACHED'],
  dismissKeyReuseAlert: ['NOT_FOUND', 'ALERT_RESOLVED'],
  enableGatewayWebhook: ['NOT_FOUND'],
  enableTenantNotifications: ['NOT_FOUND'],
  replayWebhookDelivery: ['NOT_FOUND', 'DELIVERY_NOT_DEAD'],
  revalidateCredential: ['NOT_FOUND', 'CREDENTIAL_REVOKED'],
  revertToPlatformKeys: ['NOT_FOUND', 'CONFIRMATION_MISMATCH'],
  revokeApiToken: ['NOT_FOUND', 'ALREADY_REVOKED'],
  revokeCredential: ['NOT_FOUND', 'CREDENTIAL_REVOKED'],
  revokePlatformKey: ['NOT_FOUND', 'ALREADY_REVOKED'],
  rotateCredential: ['NOT_FOUND', 'CREDENTIAL_REVOKED', ...KEY_SHAPE, 'PROVIDER_DISABLED', ...IDEMPOTENCY],
  rotateGatewayKey: ['NOT_FOUND', 'OUT_OF_RANGE'],
  rotateGatewayWebhookSecret: ['NOT_FOUND', 'OUT_OF_RANGE'],
  rotateTenantNotificationSecret: ['NOT_FOUND', 'OUT_OF_RANGE'],
  setGatewayProviderMode: ['NOT_FOUND'],
  startKeyRescan: ['INVALID_INPUT'],
  startKeyRewrap: ['INVALID_INPUT', 'KEY_REWRAP_RUNNING'],
  startPepperRekey: ['INVALID_INPUT'],
  testProviderKey: ['NOT_FOUND', ...KEY_SHAPE, 'UNKNOWN_PROVIDER', 'PROVIDER_DISABLED', 'HOST_NOT_CONFIRMED'],
  updateCredential: ['NOT_FOUND', ...LABEL, 'LABEL_TAKEN', 'OUT_OF_RANGE', 'CREDENTIAL_REVOKED'],
  updateGateway: ['NOT_FOUND', ...NAME, 'INVALID_INPUT', ...URL],
  updateTenant: ['NOT_FOUND', ...NAME, 'OUT_OF_RANGE', ...URL],
  upsertProvider: [...NAME, 'SLUG_INVALID', 'INVALID_INPUT', ...URL, 'PATTERN_INVALID', 'BUILT_IN_PROVIDER_PINNED'],
};

/** Appends "userErrors codes: ..." to each mutation's description (see above). */
export function describeMutationErrors(schema: GraphQLSchema): GraphQLSchema {
  const fields = schema.getMutationType()?.getFields() ?? {};
  for (const [name, field] of Object.entries(fields)) {
    const codes = MUTATION_ERROR_CODES[name];
    if (!codes) continue; // the unit test names any mutation without a list
    field.description = `${field.description ?? ''}\n\nuserErrors codes: ${[...new Set(codes)].join(', ')}.`.trim();
  }
  return schema;
}
