import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { DataSource } from 'typeorm';
import { AuditEventEntity } from '../audit/audit.entity';

/**
 * What counts as a security event (issue 14, item 9). Each is written to the platform's audit
 * trail, to the tenant's where one is concerned, counted in keyplane_security_events_total{kind}
 * and logged at warn level. No event holds a token, key or secret: ids, counts, names and
 * addresses only.
 */
export const SECURITY_EVENT_KINDS = [
  'FORGED_JOB',
  'REVOKED_TOKEN_USED',
  'REPEATED_AUTH_FAILURES',
  'OUTBOUND_POLICY_REFUSED',
  'DECRYPT_FAILED',
  'RATE_LIMIT_REPEATED',
  'READONLY_WRITE_ATTEMPT',
] as const;
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number];

export interface SecurityEvent {
  kind: SecurityEventKind;
  /** The tenant concerned, if any: it sees the event in its own trail too. */
  tenantId?: string | null;
  targetType: string;
  targetId?: string | null;
  details?: Record<string, string | number | boolean | null>;
  /**
   * Events with the same key are recorded at most once per window: a flood of one kind from one
   * place is one row, not one per request.
   */
  throttleKey?: string;
}

/** The audit action of a kind, e.g. `SECURITY_REVOKED_TOKEN_USED` (audit actions are UPPER_SNAKE). */
export const securityAction = (kind: SecurityEventKind) => `SECURITY_${kind}`;

const MAX_THROTTLE_KEYS = 10_000;

export class SecurityEvents {
  /** Registered by the process's metrics endpoint (one registry per API or worker instance). */
  readonly metric = new Counter({
    name: 'keyplane_security_events_total',
    help: 'Security events recorded, by kind (each is also an audit row).',
    labelNames: ['kind'] as const,
    registers: [],
  });
  private readonly recent = new Map<string, number>();

  private readonly authFailures: FailureCounter;

  constructor(
    private readonly db: DataSource,
    private readonly log: Logger,
    private readonly options: { windowMs: number; authFailureThreshold: number } = { windowMs: 5 * 60_000, authFailureThreshold: 20 },
  ) {
    this.authFailures = new FailureCounter(options.authFailureThreshold, options.windowMs);
  }

  /** A request from `source` (a client address) failed authentication on `surface`. */
  authFailed(source: string, surface: 'graphql' | 'websocket' | 'gateway-config' | 'ops' | 'audit-export'): void {
    const failures = this.authFailures.fail(source);
    if (failures === null) return;
    this.record({
      kind: 'REPEATED_AUTH_FAILURES',
      targetType: 'client',
      targetId: null,
      details: { source, surface, failures },
      throttleKey: source,
    });
  }

  /**
   * The outbound policy refused a request to a tenant-chosen URL. Platform trail only, with the
   * tenant in the details: in the tenant's own trail the event would tell it that its URL resolved
   * to a refused address rather than to nothing, the very oracle the single UNREACHABLE closes.
   */
  outboundRefused(event: { reason: string; detail: string | null; tag: { purpose: string; tenantId?: string; refId?: string } | null }): void {
    const tenant = event.tag?.tenantId ?? null;
    this.record({
      kind: 'OUTBOUND_POLICY_REFUSED',
      targetType: event.tag?.purpose ?? 'outbound',
      targetId: event.tag?.refId ?? null,
      details: { tenant, reason: event.reason, detail: event.detail },
      throttleKey: `${tenant}:${event.tag?.refId ?? event.reason}`,
    });
  }

  /** A revoked tenant token was presented. */
  revokedTokenUsed(token: { id: string; tenantId: string }): void {
    this.record({ kind: 'REVOKED_TOKEN_USED', tenantId: token.tenantId, targetType: 'api_token', targetId: token.id, throttleKey: token.id });
  }

  /**
   * Records off the caller's path: a refusal answers at once, and a failure to write the event is
   * logged, never turned into an error for the request or job that caused it.
   */
  record(event: SecurityEvent): void {
    if (event.throttleKey && !this.due(`${event.kind}:${event.throttleKey}`)) return;
    this.metric.labels(event.kind).inc();
    this.log.warn(
      {
        securityEvent: event.kind,
        tenantId: event.tenantId ?? null,
        targetType: event.targetType,
        targetId: event.targetId ?? null,
        ...event.details,
      },
      'security event',
    );
    this.write(event).catch((error: Error) =>
      this.log.error({ securityEvent: event.kind, err: { name: error.name, message: error.message } }, 'could not record security event'),
    );
  }

  /** Resolves once every event recorded so far is written (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  private readonly pending = new Set<Promise<void>>();

  private write(event: SecurityEvent): Promise<void> {
    const base = {
      actorType: 'SYSTEM' as const,
      actorId: null,
      action: securityAction(event.kind),
      targetType: event.targetType,
      targetId: event.targetId ?? null,
      details: { kind: event.kind, ...event.details } as never,
      requestId: null,
    };
    const rows = [{ ...base, tenantId: null }];
    if (event.tenantId) rows.push({ ...base, tenantId: event.tenantId as never });
    const done = this.db
      .getRepository(AuditEventEntity)
      .insert(rows)
      .then(() => undefined)
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
    return done;
  }

  private due(key: string): boolean {
    const now = Date.now();
    const until = this.recent.get(key);
    if (until !== undefined && until > now) return false;
    if (this.recent.size >= MAX_THROTTLE_KEYS) {
      for (const [k, u] of this.recent) if (u <= now) this.recent.delete(k);
      if (this.recent.size >= MAX_THROTTLE_KEYS) this.recent.clear();
    }
    this.recent.set(key, now + this.options.windowMs);
    return true;
  }
}

/**
 * Failed authentications per source (a client address). `fail` says when a source reaches the
 * threshold within the window: the caller records one REPEATED_AUTH_FAILURES event then, and the
 * event's own throttle keeps it to one per window. Bounded: the oldest sources are dropped first.
 */
export class FailureCounter {
  private readonly counts = new Map<string, { n: number; since: number }>();

  constructor(
    private readonly threshold = 20,
    private readonly windowMs = 5 * 60_000,
    private readonly maxSources = 10_000,
  ) {}

  fail(source: string): number | null {
    const now = Date.now();
    let entry = this.counts.get(source);
    if (!entry || now - entry.since > this.windowMs) {
      if (!entry && this.counts.size >= this.maxSources) this.counts.delete(this.counts.keys().next().value!);
      entry = { n: 0, since: now };
      this.counts.set(source, entry);
    }
    entry.n++;
    return entry.n >= this.threshold ? entry.n : null;
  }
}
