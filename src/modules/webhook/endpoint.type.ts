import { constEnum } from '../../graphql/const-enum';
import { WEBHOOK_DISABLED_REASONS, WEBHOOK_ENDPOINTS } from './endpoint';

export const WebhookDisabledReasonEnum = constEnum(WEBHOOK_DISABLED_REASONS, {
  name: 'WebhookDisabledReason',
  description: 'Why Keyplane stopped sending to a webhook endpoint.',
  valuesConfig: {
    GONE: { description: 'The receiver answered 410 Gone.' },
    CONSECUTIVE_FAILURES: { description: 'WEBHOOK_DISABLE_AFTER_FAILURES deliveries in a row were given up after all their tries.' },
  },
});

export const WebhookEndpointEnum = constEnum(WEBHOOK_ENDPOINTS, {
  name: 'WebhookEndpoint',
  description: "A webhook endpoint: a gateway's reload webhook, or the tenant's notification webhook.",
  valuesConfig: {
    GATEWAY_WEBHOOK: { description: "A gateway's reload webhook (Gateway.webhookUrl)." },
    TENANT_NOTIFICATIONS: { description: "The tenant's notification webhook (Tenant.notificationWebhookUrl)." },
  },
});
