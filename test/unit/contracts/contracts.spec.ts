import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPENAPI_DOCUMENT, openApiText } from '../../../src/http/openapi';
import { RELOAD_REASONS } from '../../../src/queue/registry';
import { credentialRotationDue, gatewayConfigChanged, webhookBody, WEBHOOK_EVENT_TYPES } from '../../../src/modules/webhook/webhook-messages';
import { WEBHOOK_SCHEMAS } from '../../../src/modules/webhook/webhook-schemas';
import { responseContractErrors, webhookContractErrors } from '../../helpers/contracts';

/*
 * The contract checks the integration suites rely on must be able to fail: each kind of drift
 * below (an extra field, a wrong code, a missing header, an undocumented status, a bad NDJSON
 * line, a webhook body off its schema) is caught.
 */

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  headers: new Headers({ 'content-type': 'application/json; charset=utf-8', ...headers }),
  text: JSON.stringify(body),
});

const config = () => ({
  gatewayId: randomUUID(),
  configVersion: 3,
  generatedAt: new Date().toISOString(),
  providers: [
    {
      provider: { id: randomUUID(), slug: 'openai', baseUrl: 'https://api.openai.com', authScheme: 'BEARER' },
      mode: 'USER_PROVIDED',
      modeSource: 'GATEWAY',
      status: 'OK',
      reason: null,
      message: null,
      credentials: [
        {
          source: 'TENANT',
          credentialId: randomUUID(),
          label: 'prod',
          version: 2,
          state: 'ACTIVE',
          retireAfter: null,
          redactedKey: 'sk-…abcd',
          key: 'sk-test',
        },
      ],
      skipped: [{ source: 'PLATFORM', platformKeyId: randomUUID(), label: 'shared', reason: 'UNREADABLE' }],
    },
  ],
});
const configHeaders = { etag: '"3-AbCdEfGhIjKlMnOpQrStUv"', 'cache-control': 'no-store' };

describe('REST answers against schema/openapi.json', () => {
  it('accepts a conforming gateway config, and catches every kind of drift in it', () => {
    expect(responseContractErrors('GET', '/v1/gateway/config', { status: 200, ...json(config(), configHeaders) })).toEqual([]);

    const extra = config();
    (extra.providers[0] as any).debug = true;
    expect(responseContractErrors('GET', '/v1/gateway/config', { status: 200, ...json(extra, configHeaders) }).join()).toMatch(
      /additional properties/,
    );
    const platformAsTenant = config();
    (platformAsTenant.providers[0].credentials[0] as any).source = 'PLATFORM';
    expect(responseContractErrors('GET', '/v1/gateway/config', { status: 200, ...json(platformAsTenant, configHeaders) })).not.toEqual([]);
    expect(responseContractErrors('GET', '/v1/gateway/config', { status: 200, ...json(config(), { 'cache-control': 'no-store' }) })).toEqual([
      'GET /v1/gateway/config 200: header ETag is missing',
    ]);
    expect(
      responseContractErrors('GET', '/v1/gateway/config', { status: 200, ...json(config(), { ...configHeaders, etag: 'W/"weak"' }) }),
    ).toHaveLength(1);
    expect(responseContractErrors('GET', '/v1/gateway/config', { status: 429, ...json({}) })).toEqual([
      'GET /v1/gateway/config answered 429, which schema/openapi.json does not list',
    ]);
    expect(responseContractErrors('GET', '/v1/gateway/config', { status: 304, headers: new Headers(configHeaders), text: '{}' })).toEqual([
      'GET /v1/gateway/config 304: a body where none is documented',
    ]);
  });

  it('checks the error code each status documents', () => {
    const headers = { 'cache-control': 'no-store', 'www-authenticate': 'Bearer realm="keyplane-gateway"' };
    const answer = (code: string) => ({ status: 401, ...json({ error: { code, message: 'no' } }, headers) });
    expect(responseContractErrors('GET', '/v1/gateway/config', answer('UNAUTHENTICATED'))).toEqual([]);
    expect(responseContractErrors('GET', '/v1/gateway/config', answer('FORBIDDEN')).join()).toMatch(/code must be equal to constant/);
  });

  it('checks every NDJSON line of the audit export', () => {
    const event = {
      type: 'event',
      id: randomUUID(),
      tenantId: randomUUID(),
      seq: '1',
      actorType: 'API_TOKEN',
      actorId: 'x',
      action: 'CREDENTIAL_CREATED',
      targetType: 'CREDENTIAL',
      targetId: null,
      details: '{}',
      requestId: null,
      createdAt: '2026-01-02T03:04:05.123456Z',
      prevHash: '0'.repeat(64),
      hash: 'a'.repeat(64),
    };
    const page = (lines: unknown[]) => ({
      status: 200,
      headers: new Headers({ 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' }),
      text: lines.map((l) => JSON.stringify(l) + '\n').join(''),
    });
    expect(responseContractErrors('GET', '/v1/audit/export?limit=2', page([event]))).toEqual([]);
    expect(responseContractErrors('GET', '/v1/audit/export', page([event, { ...event, seq: 2 }])).join()).toMatch(/line 2/);
  });

  it('knows no undocumented route', () => {
    expect(responseContractErrors('GET', '/v1/nope', { status: 200, ...json({}) })).toEqual(['GET /v1/nope is not in schema/openapi.json']);
  });

  it('is the document the code builds (the drift check, here too)', () => {
    expect(readFileSync(join(__dirname, '../../../schema/openapi.json'), 'utf8')).toBe(openApiText());
    expect(OPENAPI_DOCUMENT.openapi).toBe('3.1.1');
  });
});

describe('webhook bodies against docs/webhooks/*.schema.json', () => {
  const ids = { tenantId: randomUUID(), gatewayId: randomUUID() };

  it('accepts every body the code builds, for every reason and type', () => {
    for (const reason of RELOAD_REASONS) {
      expect(webhookContractErrors(JSON.stringify(gatewayConfigChanged({ ...ids, configVersion: 2, reason }, new Date())))).toEqual([]);
    }
    const due = credentialRotationDue(
      {
        tenantId: ids.tenantId,
        credentialId: randomUUID(),
        reminderId: randomUUID(),
        version: 1,
        threshold: 'OVERDUE',
        rotateBy: new Date().toISOString(),
      },
      new Date(),
    );
    expect(webhookContractErrors(JSON.stringify(due))).toEqual([]);
    expect(Object.keys(WEBHOOK_SCHEMAS).sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
  });

  it('publishes the schemas the code holds', () => {
    for (const type of WEBHOOK_EVENT_TYPES) {
      expect(JSON.parse(readFileSync(join(__dirname, `../../../docs/webhooks/${type}.schema.json`), 'utf8'))).toEqual(WEBHOOK_SCHEMAS[type]);
    }
  });

  it('catches a body off its schema: a new field, a wrong enum, no data, an unknown type, copies that disagree', () => {
    const body = gatewayConfigChanged({ ...ids, configVersion: 2, reason: 'MODE_CHANGED' }, new Date());
    expect(webhookContractErrors(JSON.stringify({ ...body, data: { ...body.data, key: 'sk-x' } })).join()).toMatch(/additional properties/);
    expect(webhookContractErrors(JSON.stringify({ ...body, data: { ...body.data, reason: 'WHATEVER' } })).join()).toMatch(/allowed values/);
    const { data: _data, ...flat } = body;
    expect(webhookContractErrors(JSON.stringify(flat)).join()).toMatch(/must have required property 'data'/);
    expect(webhookContractErrors(JSON.stringify({ ...body, type: 'gateway.deleted' }))).toEqual([
      'no published schema for webhook type "gateway.deleted" (docs/webhooks/)',
    ]);
    expect(webhookContractErrors(JSON.stringify({ ...body, configVersion: 9 }))).toEqual([
      'gateway.config_changed: top-level configVersion differs from data.configVersion',
    ]);
  });

  it('sends a body stored in the old flat structure in the new one, timed by when it was stored', () => {
    const storedAt = new Date('2026-01-02T03:04:05.000Z');
    const flat = { type: 'gateway.config_changed', ...ids, configVersion: 4, reason: 'CREDENTIAL_ROTATED' };
    const sent = webhookBody(flat, storedAt);
    expect(sent).toEqual({
      type: 'gateway.config_changed',
      timestamp: storedAt.toISOString(),
      data: { ...ids, configVersion: 4, reason: 'CREDENTIAL_ROTATED' },
      ...ids,
      configVersion: 4,
      reason: 'CREDENTIAL_ROTATED',
    });
    expect(webhookContractErrors(JSON.stringify(sent))).toEqual([]);
    const current = gatewayConfigChanged({ ...ids, configVersion: 4, reason: 'CREDENTIAL_ROTATED' }, new Date());
    expect(webhookBody(current as unknown as Record<string, unknown>, storedAt)).toBe(current);
  });
});
