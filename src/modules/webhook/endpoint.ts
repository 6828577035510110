/*
 * Webhook endpoints and why one is disabled. An endpoint is a gateway's webhook (GATEWAY_RELOAD
 * messages) or its tenant's notification webhook (every other kind). Kept free of imports so the
 * gateway and tenant entities can use it without a cycle.
 */

/** GONE: the receiver answered 410. CONSECUTIVE_FAILURES: WEBHOOK_DISABLE_AFTER_FAILURES deliveries died in a row. */
export const WEBHOOK_DISABLED_REASONS = ['GONE', 'CONSECUTIVE_FAILURES'] as const;
export type WebhookDisabledReason = (typeof WEBHOOK_DISABLED_REASONS)[number];

export const WEBHOOK_ENDPOINTS = ['GATEWAY_WEBHOOK', 'TENANT_NOTIFICATIONS'] as const;
export type WebhookEndpoint = (typeof WEBHOOK_ENDPOINTS)[number];
