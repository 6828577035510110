import type { FastifyInstance } from 'fastify';
import { EXPORT_PAGE_DEFAULT, EXPORT_PAGE_MAX } from '../modules/audit/audit-export';
import { version } from '../../package.json';
import { AUDIT_EXPORT_PATH, AUDIT_KEYS_PATH, NEXT_CURSOR_HEADER } from './audit.route';
import { GATEWAY_CONFIG_PATH } from './gateway-config.route';
import { COMPONENT_SCHEMAS } from './openapi-components';

/*
 * The REST contract: an OpenAPI 3.1 document for every route outside GraphQL, written here by hand
 * from the same constants the routes use. Why not generated from the routes (@fastify/swagger):
 * the routes carry no fastify schemas, and adding response schemas would put fast-json-stringify
 * on them, which silently drops fields a schema does not name (hiding drift instead of catching
 * it) and changes the hot gateway poll; that poll's 304 is also answered before fastify routes it
 * (gateway-config.route.ts), where no route schema would see it. Instead the document is emitted
 * to schema/openapi.json (`npm run contracts:emit`, drift-checked in CI), served at /openapi.json,
 * linted (Redocly), and real answers are validated against it in the integration tests, which
 * also check that every registered route is documented and every documented route exists.
 */

export const OPENAPI_PATH = '/openapi.json';

type Obj = Record<string, unknown>;

const schema = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string): Obj => ({ $ref: `#/components/headers/${name}` });
const json = (s: Obj): Obj => ({ 'application/json': { schema: s } });

/** An error answer whose body has exactly this code. */
function errorResponse(description: string, code: string, headers: Record<string, Obj> = {}): Obj {
  return {
    description,
    headers,
    content: json({ type: 'object', allOf: [schema('Error')], properties: { error: { type: 'object', properties: { code: { const: code } } } } }),
  };
}

const noStore = { 'Cache-Control': header('CacheControlNoStore') };
const internal = (headers: Record<string, Obj> = {}) =>
  errorResponse('An unexpected fault (logged with the request id).', 'INTERNAL_SERVER_ERROR', headers);

const gatewayConfig: Obj = {
  get: {
    operationId: 'pullGatewayConfig',
    tags: ['gateway'],
    summary: "Pull this gateway's provider keys",
    description:
      'A gateway pulls what it is served with its own key. Poll with `If-None-Match` set to the last `ETag`: ' +
      '`304` (no body) while nothing changed, `200` with the new config otherwise. The ETag covers everything ' +
      'served except the keys themselves (status, reasons and skipped keys included); treat it as opaque. ' +
      'On `503` keep the config you have and ask again after `Retry-After`. Every answer is `Cache-Control: no-store`. ' +
      '`HEAD` answers as `GET` without a body.',
    security: [{ gatewayKey: [] }],
    parameters: [
      {
        name: 'If-None-Match',
        in: 'header',
        required: false,
        description: 'The ETag of the config the gateway holds (a list and `*` are accepted, RFC 9110).',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '200': {
        description: 'The config (it changed, or no If-None-Match was sent).',
        headers: { ETag: header('ETag'), ...noStore },
        content: json(schema('GatewayConfig')),
      },
      '304': { description: 'Unchanged since the ETag given in If-None-Match.', headers: { ETag: header('ETag'), ...noStore } },
      '401': errorResponse('No gateway key, a malformed one, or one not (or no longer) valid.', 'UNAUTHENTICATED', {
        'WWW-Authenticate': { required: true, schema: { type: 'string', const: 'Bearer realm="keyplane-gateway"' } },
        ...noStore,
      }),
      '500': internal(noStore),
      '503': errorResponse(
        'PostgreSQL or the key store is unreachable, or a key is sealed under a key version this process lacks.',
        'SERVICE_UNAVAILABLE',
        {
          'Retry-After': header('RetryAfter'),
          ...noStore,
        },
      ),
    },
  },
};

const auditExport: Obj = {
  get: {
    operationId: 'exportAuditChain',
    tags: ['audit'],
    summary: "Export the caller's tenant's audit chain (NDJSON)",
    description:
      'One line per event in `seq` order and one per signed checkpoint after the event it covers. Page with `after`: ' +
      `the \`${NEXT_CURSOR_HEADER}\` header names the next page's cursor and is absent on the last page, which also ` +
      'carries any checkpoint past the last event. Verify offline with scripts/verify-audit-export.mjs and ' +
      `${AUDIT_KEYS_PATH} (docs/audit.md). Each line follows the \`x-itemSchema\` of the media type (OpenAPI 3.2's ` +
      '`itemSchema`, for sequential media types).',
    security: [{ tenantToken: [] }],
    parameters: [
      { name: 'after', in: 'query', required: false, description: "A page's cursor (from the previous page's header).", schema: { type: 'string' } },
      {
        name: 'limit',
        in: 'query',
        required: false,
        description: 'Events per page.',
        schema: { type: 'integer', minimum: 1, maximum: EXPORT_PAGE_MAX, default: EXPORT_PAGE_DEFAULT },
      },
    ],
    responses: {
      '200': {
        description: 'One page of the chain.',
        headers: {
          [NEXT_CURSOR_HEADER]: {
            required: false,
            description: "The next page's `after`; absent on the last page.",
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
          },
          ...noStore,
        },
        content: {
          'application/x-ndjson': {
            schema: { type: 'string', description: 'Newline-delimited JSON: one AuditExportLine per line, each ending in "\\n".' },
            'x-itemSchema': schema('AuditExportLine'),
          },
        },
      },
      '400': errorResponse(`\`limit\` is not an integer from 1 to ${EXPORT_PAGE_MAX}.`, 'BAD_USER_INPUT', noStore),
      '401': errorResponse('No tenant API token, or one not valid.', 'UNAUTHENTICATED', noStore),
      '403': errorResponse("Not a tenant API token (the platform admin token is refused: an export is one tenant's).", 'FORBIDDEN', noStore),
      '404': errorResponse("The cursor is not one of this tenant's pages (forged, random or another tenant's look the same).", 'NOT_FOUND', noStore),
      '500': internal(noStore),
    },
  },
};

const opsUnauthorized = {
  description: 'No token, or not the platform admin or ops token.',
  headers: { 'WWW-Authenticate': { required: true, schema: { type: 'string', const: 'Basic realm="keyplane", charset="UTF-8"' } } },
  content: json(schema('OpsError')),
};

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.1',
  info: {
    title: 'Keyplane REST API',
    version,
    summary: 'Gateway config pull, audit export, health, readiness and metrics.',
    description:
      "Keyplane's routes outside GraphQL. The tenant and admin API is GraphQL at `/graphql` (schema/schema.graphql); " +
      'the queue dashboard at `/admin/queues` is an HTML page for operators. Neither is described here. ' +
      'Webhooks Keyplane sends are described in docs/webhooks.md (JSON Schemas in docs/webhooks/).',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
  },
  servers: [{ url: '/', description: 'The Keyplane API process (PORT, default 4000).' }],
  tags: [
    { name: 'gateway', description: 'For AI gateways.' },
    { name: 'audit', description: 'Tamper-evident audit trail.' },
    { name: 'operations', description: 'Probes, metrics and this document.' },
  ],
  paths: {
    [GATEWAY_CONFIG_PATH]: gatewayConfig,
    [AUDIT_EXPORT_PATH]: auditExport,
    [AUDIT_KEYS_PATH]: {
      get: {
        operationId: 'getAuditKeys',
        tags: ['audit'],
        summary: 'The public keys that verify audit checkpoints',
        description: 'Public, no token. Keep a copy: an offline verifier should not trust a server it is checking.',
        security: [],
        responses: {
          '200': {
            description: 'Every key version that may have signed a checkpoint.',
            headers: { 'Cache-Control': { required: true, schema: { type: 'string', const: 'public, max-age=300' } } },
            content: json(schema('AuditKeys')),
          },
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'getHealth',
        tags: ['operations'],
        summary: 'Liveness: the process answers',
        security: [],
        responses: { '200': { description: 'Alive.', content: json(schema('Health')) } },
      },
    },
    '/readyz': {
      get: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'Readiness: PostgreSQL and the queue store answer (each check times out after 1 s)',
        security: [],
        responses: {
          '200': { description: 'Ready.', headers: noStore, content: json(schema('Readiness')) },
          '503': { description: 'A dependency does not answer; `checks` says which.', headers: noStore, content: json(schema('Readiness')) },
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description: 'The platform admin token or the ops (read-only) token, as a Bearer token or as the HTTP Basic password.',
        security: [{ opsBearer: [] }, { opsBasic: [] }],
        responses: {
          '200': {
            description: 'Prometheus text exposition format 0.0.4.',
            headers: noStore,
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          '401': opsUnauthorized,
          '403': { description: 'A valid tenant token: not enough for this page.', content: json(schema('OpsError')) },
        },
      },
    },
    [OPENAPI_PATH]: {
      get: {
        operationId: 'getOpenApiDocument',
        tags: ['operations'],
        summary: 'This document',
        security: [],
        responses: {
          '200': {
            description: 'The OpenAPI document of this release (the same as schema/openapi.json).',
            headers: { 'Cache-Control': { required: true, schema: { type: 'string', const: 'public, max-age=300' } } },
            content: json(schema('OpenApiDocument')),
          },
        },
      },
    },
  },
  components: {
    schemas: COMPONENT_SCHEMAS,
    headers: {
      ETag: {
        required: true,
        description: 'A strong entity tag for If-None-Match; opaque.',
        schema: { type: 'string', pattern: '^"[\\x21\\x23-\\x7E]+"$' },
      },
      CacheControlNoStore: { required: true, description: 'Never cached.', schema: { type: 'string', const: 'no-store' } },
      RetryAfter: { required: true, description: 'Seconds to wait before asking again.', schema: { type: 'string', pattern: '^[0-9]+$' } },
    },
    securitySchemes: {
      gatewayKey: { type: 'http', scheme: 'bearer', bearerFormat: 'kpg_…', description: "A gateway's own key (createGateway, rotateGatewayKey)." },
      tenantToken: { type: 'http', scheme: 'bearer', bearerFormat: 'kp_…', description: 'A tenant API token (createApiToken).' },
      opsBearer: { type: 'http', scheme: 'bearer', description: 'KEYPLANE_ADMIN_TOKEN, or KEYPLANE_OPS_READONLY_TOKEN.' },
      opsBasic: { type: 'http', scheme: 'basic', description: 'Any user name; the password is the admin or ops token (for browsers).' },
    },
  },
} as const;

/** The document as committed (schema/openapi.json): two-space JSON and a final newline. */
export function openApiText(): string {
  return `${JSON.stringify(OPENAPI_DOCUMENT, null, 2)}\n`;
}

/** GET /openapi.json: public (it describes routes, not data), the same bytes as the committed file. */
export function registerOpenApiRoute(app: FastifyInstance): void {
  const text = openApiText();
  app.get(OPENAPI_PATH, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').type('application/json; charset=utf-8').send(text),
  );
}
