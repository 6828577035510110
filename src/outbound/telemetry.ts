import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { Config } from '../config';
import { BASELINE_DESTINATION } from './destination-policy';
import { FAILURE_REASONS, type OutboundFailureEvent } from './failures';
import type { OutboundClient } from './outbound-client';

const PURPOSES = ['webhook', 'provider', 'other'] as const;

/**
 * Operator-side view of failed outbound requests: one log line each (the distinct cause, never the
 * URL) and keyplane_outbound_failures_total{reason,purpose}. Returns the counter unregistered, for
 * the process's own metrics registry. Policy refusals log at warn: they may be probing.
 */
export function watchOutbound(
  client: OutboundClient,
  log: Logger,
  /** A request the policy refused (a tenant-chosen URL aimed at something it must not reach): a security event. */
  onPolicyRefusal: (event: OutboundFailureEvent) => void = () => {},
): Counter<'reason' | 'purpose'> {
  const failures = new Counter({
    name: 'keyplane_outbound_failures_total',
    help: 'Outbound requests (webhooks, provider key checks) that got no answer, by cause. Tenants see all of them as UNREACHABLE.',
    labelNames: ['reason', 'purpose'] as const,
    registers: [],
  });
  // Every series exists from the start, so a rate() over a first failure is not lost.
  for (const reason of FAILURE_REASONS) for (const purpose of PURPOSES) failures.inc({ reason, purpose }, 0);
  client.onFailure((event) => {
    const purpose = event.tag?.purpose ?? 'other';
    failures.inc({ reason: event.reason, purpose });
    const fields = {
      outbound: {
        reason: event.reason,
        detail: event.detail,
        purpose,
        tenantId: event.tag?.tenantId,
        refId: event.tag?.refId,
        latencyMs: event.latencyMs,
      },
    };
    if (event.reason.startsWith('policy_')) {
      log.warn(fields, 'outbound request refused by policy');
      onPolicyRefusal(event);
    } else log.info(fields, 'outbound request failed');
  });
  return failures;
}

/**
 * Logged once at start: the effective policy is operator config (no secrets). An open loopback
 * exposes every service listening on this host (Redis, PostgreSQL, the API's ops routes) to
 * tenant-chosen URLs: a warning outside production, an error in production.
 */
export function logOutboundPolicy(config: Pick<Config, 'env' | 'outbound'>, log: Logger): void {
  const { allowDestinations, allowAddresses, allowLoopback } = config.outbound;
  log.info({ outbound: { destinations: [BASELINE_DESTINATION, ...allowDestinations], allowAddresses, allowLoopback } }, 'outbound policy');
  if (allowLoopback) {
    const message = 'OUTBOUND_ALLOW_LOOPBACK=true: webhooks and key checks may reach services on this host (127.0.0.0/8, ::1)';
    if (config.env === 'production') log.error(`${message}. Do not run production like this.`);
    else log.warn(message);
  }
}
