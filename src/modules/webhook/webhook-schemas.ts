import { RELOAD_REASONS } from '../../queue/registry';
import { REMINDER_THRESHOLDS } from '../reminder/reminder.entity';
import { CREDENTIAL_ROTATION_DUE, GATEWAY_CONFIG_CHANGED, type WebhookEventType } from './webhook-messages';

/*
 * JSON Schema (2020-12) of every webhook body, by `type`: emitted to docs/webhooks/<type>.schema.json
 * (`npm run contracts:emit`, drift-checked in CI) and used by the webhook tests to validate every
 * body a real loopback receiver gets. Enums come from the code's own constants. `data` is closed:
 * a field added to a body without its schema fails the tests. Receivers should ignore fields they
 * do not know (new ones may be added; removing one is announced first).
 */

type Schema = Record<string, unknown>;

const uuid: Schema = { type: 'string', format: 'uuid' };

function envelope(type: WebhookEventType, description: string, data: { required: string[]; properties: Record<string, Schema> }): Schema {
  const deprecated = Object.fromEntries(
    Object.entries(data.properties).map(([name, s]) => [
      name,
      {
        ...s,
        deprecated: true,
        description: `Deprecated: the same as data.${name}; to be removed in a later release (announced in the changelog first). Read data.${name}.`,
      },
    ]),
  );
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: type,
    description,
    type: 'object',
    required: ['type', 'timestamp', 'data'],
    additionalProperties: false,
    properties: {
      type: { type: 'string', const: type },
      timestamp: {
        type: 'string',
        format: 'date-time',
        description: 'When the event happened (ISO 8601, UTC). Not the send time: see the webhook-timestamp header.',
      },
      data: { $ref: '#/$defs/data' },
      ...deprecated,
    },
    $defs: { data: { type: 'object', additionalProperties: false, ...data } },
  };
}

export const WEBHOOK_SCHEMAS: Record<WebhookEventType, Schema> = {
  [GATEWAY_CONFIG_CHANGED]: envelope(
    GATEWAY_CONFIG_CHANGED,
    "A gateway's config changed: pull it (GET /v1/gateway/config with If-None-Match). Sent to the gateway's webhookUrl, signed with its signing secret. Changes within the coalesce window become one message naming the newest version. No key travels in it.",
    {
      required: ['tenantId', 'gatewayId', 'configVersion', 'reason'],
      properties: {
        tenantId: uuid,
        gatewayId: uuid,
        configVersion: { type: 'integer', minimum: 1, description: 'The version to pull (at least).' },
        reason: { type: 'string', enum: [...RELOAD_REASONS], description: 'What changed (the newest change when several coalesced).' },
      },
    },
  ),
  [CREDENTIAL_ROTATION_DUE]: envelope(
    CREDENTIAL_ROTATION_DUE,
    "A credential's rotate-by date is near or past. Sent to the tenant's notificationWebhookUrl, signed with the tenant's notification secret; once per key version and threshold. Ids, version and dates only: look the credential up by id.",
    {
      required: ['tenantId', 'credentialId', 'reminderId', 'version', 'threshold', 'rotateBy'],
      properties: {
        tenantId: uuid,
        credentialId: uuid,
        reminderId: { ...uuid, description: 'The reminder (GraphQL rotationReminders).' },
        version: { type: 'integer', minimum: 1, description: 'The key version the reminder is about.' },
        threshold: { type: 'string', enum: [...REMINDER_THRESHOLDS], description: 'Which threshold was crossed: 14, 7 or 1 day(s) ahead, or past.' },
        rotateBy: { type: 'string', format: 'date-time' },
      },
    },
  ),
};

/** docs/webhooks/<type>.schema.json, as committed: two-space JSON and a final newline. */
export function webhookSchemaText(type: WebhookEventType): string {
  return `${JSON.stringify(WEBHOOK_SCHEMAS[type], null, 2)}\n`;
}
