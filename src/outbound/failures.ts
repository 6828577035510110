/**
 * Why an outbound request got no answer, for operators only (logs and the
 * keyplane_outbound_failures_total metric). Tenants see one code, UNREACHABLE, whatever the cause:
 * otherwise "blocked" against "no such name" against "refused" maps the internal network.
 */
export const FAILURE_REASONS = ['policy_destination', 'policy_address', 'dns', 'refused', 'reset', 'timeout', 'tls', 'network'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** What a request is for, so operators can tell webhook failures from key checks. */
export interface OutboundTag {
  purpose: 'webhook' | 'provider';
  tenantId?: string;
  /** The delivery (webhooks) the request belongs to. */
  refId?: string;
}

export interface OutboundFailureEvent {
  reason: FailureReason;
  /** The policy rule or block reason (METADATA, DESTINATION...) or an errno / undici code; never a message or URL. */
  detail: string | null;
  tag: OutboundTag | null;
  latencyMs: number;
}

export type OutboundFailureListener = (event: OutboundFailureEvent) => void;

/** From an errno / undici / OpenSSL code to the fixed reason set. */
export function reasonOf(code: string | null): FailureReason {
  if (!code) return 'network';
  if (code === 'ERR_OUTBOUND_BLOCKED') return 'policy_address';
  if (/^(ENOTFOUND|EAI_|ENODATA|ESERVFAIL|ENOTIMP|EREFUSED|DNS_)/.test(code)) return 'dns';
  if (code === 'ECONNREFUSED') return 'refused';
  if (/^(ECONNRESET|EPIPE|ECONNABORTED|UND_ERR_SOCKET|UND_ERR_CLOSED)$/.test(code)) return 'reset';
  if (/TIMEOUT|^ETIMEDOUT$/.test(code)) return 'timeout';
  if (/^(ERR_TLS|ERR_SSL|ERR_OSSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|EPROTO$)/.test(code)) return 'tls';
  return 'network';
}
