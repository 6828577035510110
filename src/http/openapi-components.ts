import { CREDENTIAL_MODES } from '../modules/gateway/gateway.entity';
import { MODE_SOURCES, SKIP_REASONS } from '../modules/gateway/gateway-config';
import { NO_KEY_REASONS } from '../modules/gateway/gateway-config.reasons';
import { AUTH_SCHEMES } from '../providers/types';

/*
 * The schemas of the OpenAPI document (src/http/openapi.ts), as JSON Schema 2020-12 (OpenAPI 3.1's
 * dialect). Enums come from the constants the code itself uses, so a new reason or mode changes
 * the emitted document and the drift check (`npm run contracts:check`) asks for it to be committed.
 * Objects are closed (additionalProperties: false): the integration tests validate real answers
 * against them, so a field added to an answer without its contract fails there.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const uuid: Schema = { type: 'string', format: 'uuid' };
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const strings = (values: readonly string[]): Schema => ({ type: 'string', enum: [...values] });
const closed = (required: string[], properties: Record<string, Schema>, description?: string): Schema => ({
  type: 'object',
  ...(description ? { description } : {}),
  additionalProperties: false,
  required,
  properties,
});
const hex64: Schema = { type: 'string', pattern: '^[0-9a-f]{64}$' };
/** A bigint as decimal digits (JSON numbers lose precision past 2^53). */
const seq: Schema = { type: 'string', pattern: '^[1-9][0-9]*$', description: 'A positive integer as decimal digits (a bigint).' };

export const ERROR_CODES = ['BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE'] as const;

const served = (source: 'TENANT' | 'PLATFORM'): Schema => {
  const id = source === 'TENANT' ? 'credentialId' : 'platformKeyId';
  return closed(['source', id, 'label', 'version', 'state', 'retireAfter', 'redactedKey', 'key'], {
    source: { type: 'string', const: source },
    [id]: uuid,
    label: { type: 'string' },
    version: { type: 'integer', minimum: 1 },
    state: strings(['ACTIVE', 'PREVIOUS']),
    retireAfter: { ...nullable({ type: 'string', format: 'date-time' }), description: "End of a PREVIOUS version's grace period; null for ACTIVE." },
    redactedKey: { type: 'string', description: 'A hint such as `sk-…abcd`: never enough to use.' },
    key: { type: 'string', description: 'The plaintext provider key. This answer is the one place keys leave Keyplane: never log or cache it.' },
  });
};

const skipped = (source: 'TENANT' | 'PLATFORM'): Schema => {
  const id = source === 'TENANT' ? 'credentialId' : 'platformKeyId';
  return closed(['source', id, 'label', 'reason'], {
    source: { type: 'string', const: source },
    [id]: uuid,
    label: { type: 'string' },
    reason: strings(SKIP_REASONS),
  });
};

export const COMPONENT_SCHEMAS: Record<string, Schema> = {
  Error: closed(
    ['error'],
    {
      error: closed(['code', 'message'], {
        code: { ...strings(ERROR_CODES), description: 'Machine-readable; the same vocabulary as GraphQL `extensions.code`.' },
        message: { type: 'string', description: 'For people; never carries a key, a token or the rejected value.' },
      }),
    },
    'Every error of the /v1 routes.',
  ),
  OpsError: closed(
    ['error', 'message'],
    { error: strings(['UNAUTHENTICATED', 'FORBIDDEN']), message: { type: 'string' } },
    'Errors of the operator routes (/metrics and the queue dashboard).',
  ),
  Health: closed(['status'], { status: { type: 'string', const: 'ok' } }),
  Readiness: closed(
    ['status', 'checks'],
    {
      status: strings(['ok', 'unavailable']),
      checks: {
        type: 'object',
        description: 'PostgreSQL, and the queue store: `redis`, or `queue` when the queues run on PostgreSQL.',
        additionalProperties: false,
        required: ['postgres'],
        minProperties: 2,
        maxProperties: 2,
        properties: { postgres: ref('CheckResult'), redis: ref('CheckResult'), queue: ref('CheckResult') },
      },
    },
    'Ready (200) when every check is `ok`, otherwise 503.',
  ),
  CheckResult: strings(['ok', 'failed']),
  GatewayConfig: closed(
    ['gatewayId', 'configVersion', 'generatedAt', 'providers'],
    {
      gatewayId: uuid,
      configVersion: { type: 'integer', minimum: 1, description: 'Goes up whenever what this gateway is served changes.' },
      generatedAt: { type: 'string', format: 'date-time' },
      providers: { type: 'array', items: ref('GatewayProviderEntry'), description: 'Sorted by provider slug.' },
    },
    'What one gateway is served: every provider it could use, with the keys to use in order, or why there is none.',
  ),
  GatewayProviderEntry: closed(['provider', 'mode', 'modeSource', 'status', 'reason', 'message', 'credentials', 'skipped'], {
    provider: closed(['id', 'slug', 'baseUrl', 'authScheme'], {
      id: uuid,
      slug: { type: 'string' },
      baseUrl: { type: 'string', format: 'uri' },
      authScheme: strings(AUTH_SCHEMES),
    }),
    mode: strings(CREDENTIAL_MODES),
    modeSource: strings(MODE_SOURCES),
    status: strings(['OK', 'NO_USABLE_KEY']),
    reason: { ...nullable(strings(NO_KEY_REASONS)), description: 'Why nothing is served; null when status is OK.' },
    message: { ...nullable({ type: 'string' }), description: 'A sentence for the gateway operator; null when there is nothing to say.' },
    credentials: { type: 'array', items: ref('ServedCredential'), description: 'In the order to use them.' },
    skipped: { type: 'array', items: ref('SkippedCredential') },
  }),
  ServedCredential: {
    type: 'object',
    oneOf: [ref('ServedTenantCredential'), ref('ServedPlatformCredential')],
    discriminator: { propertyName: 'source' },
  },
  ServedTenantCredential: served('TENANT'),
  ServedPlatformCredential: served('PLATFORM'),
  SkippedCredential: {
    type: 'object',
    oneOf: [ref('SkippedTenantCredential'), ref('SkippedPlatformCredential')],
    discriminator: { propertyName: 'source' },
  },
  SkippedTenantCredential: skipped('TENANT'),
  SkippedPlatformCredential: skipped('PLATFORM'),
  AuditKeys: closed(['algorithm', 'keys'], {
    algorithm: { type: 'string', const: 'Ed25519' },
    keys: {
      type: 'array',
      items: closed(['version', 'algorithm', 'publicKey'], {
        version: { type: 'integer', minimum: 1 },
        algorithm: { type: 'string', const: 'Ed25519' },
        publicKey: { type: 'string', contentEncoding: 'base64', description: 'The raw 32-byte Ed25519 public key.' },
      }),
    },
  }),
  AuditExportLine: { type: 'object', oneOf: [ref('AuditExportEvent'), ref('AuditExportCheckpoint')], discriminator: { propertyName: 'type' } },
  AuditExportEvent: closed(
    [
      'type',
      'id',
      'tenantId',
      'seq',
      'actorType',
      'actorId',
      'action',
      'targetType',
      'targetId',
      'details',
      'requestId',
      'createdAt',
      'prevHash',
      'hash',
    ],
    {
      type: { type: 'string', const: 'event' },
      id: uuid,
      tenantId: uuid,
      seq,
      actorType: { type: 'string' },
      actorId: nullable({ type: 'string' }),
      action: { type: 'string' },
      targetType: { type: 'string' },
      targetId: nullable({ type: 'string' }),
      details: { type: 'string', contentMediaType: 'application/json', description: 'The stored JSON text, byte for byte (it is hashed as text).' },
      requestId: nullable({ type: 'string' }),
      createdAt: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}Z$', description: 'UTC, microseconds.' },
      prevHash: hex64,
      hash: { ...hex64, description: 'hex(SHA-256(prevHash + canonical row)): docs/audit.md.' },
    },
    'One audit event of the chain, in seq order.',
  ),
  AuditExportCheckpoint: closed(
    ['type', 'tenantId', 'seq', 'hash', 'keyVersion', 'signature', 'signedAt'],
    {
      type: { type: 'string', const: 'checkpoint' },
      tenantId: uuid,
      seq,
      hash: hex64,
      keyVersion: { type: 'integer', minimum: 1 },
      signature: { type: 'string', contentEncoding: 'base64', description: 'Ed25519 over the checkpoint message (docs/audit.md).' },
      signedAt: { type: 'string', format: 'date-time' },
    },
    'A signed checkpoint, right after the event it covers.',
  ),
  OpenApiDocument: {
    type: 'object',
    required: ['openapi', 'info', 'paths'],
    properties: { openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' }, info: { type: 'object' }, paths: { type: 'object' } },
    description: 'This document (https://spec.openapis.org/oas/v3.1.0).',
  },
};
