/**
 * Live events for settings pages (GraphQL subscriptions). Workers publish through Redis; the API
 * fans out to subscribers of the same tenant. Payloads are ids only, like job data.
 */
export interface LiveEvents {
  /** A credential's status or last validation changed. */
  CREDENTIAL_CHANGED: { tenantId: string; credentialId: string };
  /** A key reuse alert was raised or reopened on one of the tenant's credentials. */
  KEY_REUSE_ALERT: { tenantId: string; alertId: string };
  /** Keyplane stopped sending to one of the tenant's webhook endpoints (a webhook endpoint alert was raised). */
  WEBHOOK_ENDPOINT_DISABLED: { tenantId: string; alertId: string };
}
export type LiveEventName = keyof LiveEvents;

export interface EventPublisher {
  publish<E extends LiveEventName>(event: E, payload: LiveEvents[E]): Promise<void>;
}

/** For processes and tests that publish nowhere. */
export const NO_EVENTS: EventPublisher = { publish: async () => undefined };
