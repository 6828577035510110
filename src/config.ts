import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, isDnsServer, list, providerBaseUrls } from './config-values';

export { ConfigError };
import { AuditSigner, formatKeyring, generateKeyMaterial, KeyringError, parseCurrentVersion, parseKeyring, type Keyring } from './crypto';
import { localSecrets } from './dev-secrets';
import type { RequestLimits } from './graphql/request-guard';
import { AddressPolicy } from './outbound/address-policy';
import { DestinationPolicy } from './outbound/destination-policy';

/**
 * The only reader of process.env. Parsed once, typed, frozen; a bad value fails fast naming the
 * variable and never printing what it held.
 */
const Env = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Unset: `npm start` runs an embedded PostgreSQL and sets it (never in production; src/embedded).
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  REDIS_URL: z.string().url().optional(),
  // Where BullMQ keeps jobs, and with it live events and shared key-check limits (src/queue/backend.ts).
  QUEUE_BACKEND: z.enum(['redis', 'postgres'], { message: 'expected "redis" or "postgres"' }).optional(),
  KEYPLANE_ADMIN_TOKEN: z.string().min(32).optional(),
  KEYPLANE_MASTER_KEYS: z.string().min(1).optional(),
  // The KEK version new seals use (default: the highest in KEYPLANE_MASTER_KEYS). Not secret.
  KEYPLANE_MASTER_KEY_CURRENT: z.string().optional(),
  KEYPLANE_FINGERPRINT_KEY: z.string().min(32).optional(),
  // Ed25519 keys signing audit checkpoints (versioned like the master keys), or a file holding them.
  KEYPLANE_AUDIT_SIGNING_KEYS: z.string().min(1).optional(),
  KEYPLANE_AUDIT_SIGNING_KEYS_FILE: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_CRON: z.string().min(9).default('*/15 * * * *'),
  KEYPLANE_LOCAL_SECRETS_FILE: z.string().default('.keyplane/dev-secrets.json'),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(8000),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(10),
  GRAPHQL_MAX_COMPLEXITY: z.coerce.number().int().min(10).default(5000),
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).optional(),
  // Request limits checked before validation (src/graphql/request-guard.ts).
  GRAPHQL_MAX_DOCUMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(32 * 1024),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(100_000).default(3000),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(1).max(1000).default(30),
  GRAPHQL_MAX_DIRECTIVES: z.coerce.number().int().min(1).max(1000).default(20),
  GRAPHQL_MAX_SELECTIONS: z.coerce.number().int().min(10).max(100_000).default(1000),
  GRAPHQL_MAX_FRAGMENT_DEPTH: z.coerce.number().int().min(1).max(50).default(8),
  GRAPHQL_MAX_INTROSPECTION_DEPTH: z.coerce.number().int().min(2).max(50).default(15),
  PAGE_SIZE_MAX: z.coerce.number().int().min(1).max(1000).default(100),
  CORS_ORIGINS: z.string().default(''),
  KEYPLANE_OPS_READONLY_TOKEN: z.string().min(32).optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,64}$/)
    .default('keyplane'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(10),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  // A job whose worker stops renewing its lock (crash, SIGKILL) is retried elsewhere after these.
  WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1000).max(600000).default(30000),
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(600000).default(30000),
  VALIDATION_MAX_AGE_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 90)
    .default(24),
  ROTATION_GRACE_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24),
  SWEEP_CRON: z.string().min(9).default('0 3 * * *'),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(5000),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  // A receiver's Retry-After (429, 503) is honoured up to this many seconds (src/modules/webhook/retry-after.ts).
  WEBHOOK_RETRY_AFTER_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  // Deliveries dead in a row (each after all its tries) before an endpoint is disabled; 0: never by count.
  WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(0).max(10_000).default(10),
  OUTBOUND_ALLOW: z.string().default(''),
  // Unset: the NODE_ENV default below; set (even empty): exactly that list.
  OUTBOUND_ALLOW_DESTINATIONS: z.string().optional(),
  OUTBOUND_ALLOW_LOOPBACK: z.enum(['true', 'false']).default('false'),
  // Outbound names are resolved by c-ares (src/outbound/async-resolver.ts), bounded by this timeout.
  OUTBOUND_DNS_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(2_000),
  OUTBOUND_DNS_SERVERS: z
    .string()
    .default('')
    .refine((v) => list(v).every(isDnsServer), 'each entry is an IP address, optionally with :port ([v6]:port)'),
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  SECURITY_EVENT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  SECURITY_AUTH_FAILURE_THRESHOLD: z.coerce.number().int().min(1).max(1_000_000).default(20),
  // Key checks (testProviderKey, createCredential, rotateCredential, revalidateCredential): never unlimited.
  KEY_CHECK_TENANT_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(60),
  KEY_CHECK_TOKEN_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(20),
  KEY_CHECK_PERIOD_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  KEY_CHECK_REPEAT_THRESHOLD: z.coerce.number().int().min(1).max(1_000_000).default(20),
  KEY_CHECK_REPEAT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
  KEY_CHECKS_PER_REQUEST: z.coerce.number().int().min(1).max(10).default(1),
  KEY_TEST_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
});

const SECRET_VARS = ['KEYPLANE_ADMIN_TOKEN', 'KEYPLANE_MASTER_KEYS', 'KEYPLANE_FINGERPRINT_KEY', 'KEYPLANE_AUDIT_SIGNING_KEYS'] as const;
type SecretVar = (typeof SECRET_VARS)[number];
// Keyrings: a master key and an Ed25519 seed are both 32 random bytes.
const devSecret = (name: SecretVar) =>
  name === 'KEYPLANE_MASTER_KEYS' || name === 'KEYPLANE_AUDIT_SIGNING_KEYS'
    ? formatKeyring([[1, generateKeyMaterial()]])
    : randomBytes(32).toString('base64url');

/** KEYPLANE_AUDIT_SIGNING_KEYS_FILE (a mounted secret) stands for KEYPLANE_AUDIT_SIGNING_KEYS when that is unset. */
function withSigningKeysFile<E extends { KEYPLANE_AUDIT_SIGNING_KEYS?: string; KEYPLANE_AUDIT_SIGNING_KEYS_FILE?: string }>(e: E): E {
  if (e.KEYPLANE_AUDIT_SIGNING_KEYS || !e.KEYPLANE_AUDIT_SIGNING_KEYS_FILE) return e;
  let text: string;
  try {
    text = readFileSync(e.KEYPLANE_AUDIT_SIGNING_KEYS_FILE, 'utf8').trim();
  } catch {
    throw new ConfigError('invalid configuration: KEYPLANE_AUDIT_SIGNING_KEYS_FILE (the file cannot be read)');
  }
  if (!text) throw new ConfigError('invalid configuration: KEYPLANE_AUDIT_SIGNING_KEYS_FILE (the file is empty)');
  return { ...e, KEYPLANE_AUDIT_SIGNING_KEYS: text };
}

export interface Config {
  env: 'development' | 'test' | 'production';
  host: string;
  port: number;
  logLevel: string;
  databaseUrl: string;
  databasePoolSize: number;
  /** null on the postgres queue backend: nothing then connects to Redis. */
  redisUrl: string | null;
  adminToken: string;
  masterKeys: string;
  /** KEYPLANE_MASTER_KEY_CURRENT: the version new seals use; null: the highest in masterKeys. */
  masterKeyCurrent: number | null;
  /** Whether masterKeys was generated for local development (no KEYPLANE_MASTER_KEYS set). */
  masterKeysGenerated: boolean;
  fingerprintKey: string;
  /**
   * Audit checkpoint signing keys (KEYPLANE_AUDIT_SIGNING_KEYS or _FILE): keyring text of Ed25519
   * seeds; the highest version signs. checkpointCron: when workers sign moved chain heads (UTC).
   */
  audit: { signingKeys: string; checkpointCron: string };
  providerTimeoutMs: number;
  /** Browser origins allowed to call the API; empty: no CORS headers (same-origin or server-side callers). */
  corsOrigins: string[];
  /** Read-only ops token for the queue dashboard and metrics (optional). */
  opsReadonlyToken: string | null;
  queue: { backend: QueueBackendKind; prefix: string; concurrency: number; metricsPort: number; lockDurationMs: number; stalledIntervalMs: number };
  /** Re-validate keys whose last check is older than this; daily sweeps run on this cron (UTC). */
  validationMaxAgeHours: number;
  rotationGraceHours: number;
  sweepCron: string;
  /**
   * Webhook delivery. retryAfterMaxMs bounds how long a receiver's Retry-After may push the next try
   * (WEBHOOK_RETRY_AFTER_MAX_SECONDS); disableAfterFailures is how many deliveries in a row may die
   * before the endpoint is disabled (WEBHOOK_DISABLE_AFTER_FAILURES, 0: never by count; a 410 always does).
   */
  webhook: { timeoutMs: number; maxAttempts: number; retryAfterMaxMs: number; disableAfterFailures: number };
  /**
   * Outbound requests (webhooks, key checks): https on port 443 to public addresses, plus
   * allowDestinations (OUTBOUND_ALLOW_DESTINATIONS: scheme://host[:port] entries), reaching private
   * addresses only in allowAddresses (OUTBOUND_ALLOW: names, IPs, CIDRs) and loopback only with
   * allowLoopback (OUTBOUND_ALLOW_LOOPBACK, logged at start). See README "Outbound requests".
   */
  outbound: { allowDestinations: string[]; allowAddresses: string[]; allowLoopback: boolean; dnsTimeoutMs: number; dnsServers: string[] };
  /** Security events: one per kind and place per window; failed authentications per source before one is recorded. */
  security: { windowMs: number; authFailureThreshold: number };
  graphql: { maxDepth: number; maxComplexity: number; introspection: boolean; pageSizeMax: number; limits: Readonly<RequestLimits> };
  /**
   * In-memory caches of token and gateway-key lookups, dropped on PostgreSQL change notifications;
   * ttlMs bounds an entry's life regardless. 0 turns them off.
   */
  cache: { ttlMs: number; maxEntries: number };
  /**
   * Operator overrides of built-in provider hosts, by provider slug (PROVIDER_BASE_URL_OPENAI=...).
   * The only way to point a built-in provider elsewhere; applied at API start (provider-hosts.ts).
   */
  providerBaseUrls: Readonly<Record<string, string>>;
  /**
   * Key checks, per tenant and per API token: at most `tenantLimit` / `tokenLimit` per `periodMs`,
   * refilling evenly (GCRA). `repeatThreshold` refusals of one token within `repeatWindowMs` is a
   * security event. `perRequest`: key-check fields one GraphQL document may hold. `cacheTtlMs`:
   * how long a tenant's testProviderKey answer for the same key is reused (0: never).
   */
  keyChecks: {
    tenantLimit: number;
    tokenLimit: number;
    periodMs: number;
    repeatThreshold: number;
    repeatWindowMs: number;
    perRequest: number;
    cacheTtlMs: number;
  };
}

export type QueueBackendKind = 'redis' | 'postgres';

/** On PostgreSQL the prefix names BullMQ's schema (queueSchemaOf): it must make a plain identifier. */
function queuePrefixFor(backend: QueueBackendKind, prefix: string): string {
  if (backend === 'postgres' && !/^[A-Za-z][A-Za-z0-9_-]{0,49}$/.test(prefix)) {
    throw new ConfigError(
      'invalid configuration: QUEUE_PREFIX (with QUEUE_BACKEND=postgres it names a PostgreSQL schema: a letter, then letters, digits, "-" or "_", at most 50)',
    );
  }
  return prefix;
}

/** The address Redis users default to when QUEUE_BACKEND=redis names no REDIS_URL. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * DATABASE_URL, required by every process: `npm start` (scripts/start.sh) starts an embedded
 * PostgreSQL and sets it when it is unset; production never gets one silently.
 */
function requireDatabaseUrl(value: string | undefined, nodeEnv: string | undefined): string {
  if (value) return value;
  throw new ConfigError(
    nodeEnv === 'production'
      ? 'DATABASE_URL is required in production (an embedded PostgreSQL is never started there): set it to your PostgreSQL server'
      : 'DATABASE_URL is not set: run `npm start`, which starts an embedded PostgreSQL and sets it, or set DATABASE_URL to a PostgreSQL server',
  );
}

/** The audit checkpoint signer the config names. */
export function auditSigner(config: Pick<Config, 'audit'>): AuditSigner {
  return new AuditSigner(parseKeyring(config.audit.signingKeys));
}

/** The master keyring the config names, with its current version. */
export function masterKeyring(config: Pick<Config, 'masterKeys' | 'masterKeyCurrent'>): Keyring {
  return parseKeyring(config.masterKeys, config.masterKeyCurrent);
}

/** For the migration CLI: the database address alone, without touching secrets. */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const parsed = Env.shape.DATABASE_URL.safeParse(env.DATABASE_URL);
  if (!parsed.success) throw new ConfigError('invalid configuration: DATABASE_URL (Invalid URL)');
  return requireDatabaseUrl(parsed.data, env.NODE_ENV);
}

/**
 * The embedded PostgreSQL that `npm start` runs when DATABASE_URL is unset (src/embedded): its data
 * folder (git-ignored, kept across restarts) and loopback port. Never in production.
 */
export interface EmbeddedPostgresSettings {
  dataDir: string;
  port: number;
  database: string;
  production: boolean;
}

export function embeddedPostgresSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EmbeddedPostgresSettings {
  const parsed = z
    .object({
      NODE_ENV: Env.shape.NODE_ENV,
      KEYPLANE_EMBEDDED_PG_DIR: z.string().min(1).default('.keyplane/postgres'),
      KEYPLANE_EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329),
    })
    .safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join('; ')}`);
  }
  const e = parsed.data;
  return { dataDir: e.KEYPLANE_EMBEDDED_PG_DIR, port: e.KEYPLANE_EMBEDDED_PG_PORT, database: 'keyplane', production: e.NODE_ENV === 'production' };
}

/** For `npm run migrate`: the queue backend and prefix alone, without touching secrets. */
export function queueSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): { backend: QueueBackendKind; prefix: string } {
  const parsed = Env.pick({ QUEUE_BACKEND: true, REDIS_URL: true, QUEUE_PREFIX: true }).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join('; ')}`);
  }
  const backend = queueBackendOf(parsed.data);
  return { backend, prefix: queuePrefixFor(backend, parsed.data.QUEUE_PREFIX) };
}

/**
 * The queue backend, decided here only: QUEUE_BACKEND when set, else postgres when no REDIS_URL is
 * configured (one engine to run and back up) and redis when one is.
 */
export function queueBackendOf(e: { QUEUE_BACKEND?: QueueBackendKind; REDIS_URL?: string }): QueueBackendKind {
  return e.QUEUE_BACKEND ?? (e.REDIS_URL ? 'redis' : 'postgres');
}

/**
 * Outside production any scheme and port may be named (addresses are still judged); production
 * allows only what BASELINE_DESTINATION and the operator's list say.
 */
const DEFAULT_DESTINATIONS: Record<Config['env'], string> = {
  production: '',
  development: 'http://*:*,https://*:*',
  test: 'http://*:*,https://*:*',
};

function outboundFrom(e: z.infer<typeof Env>): Config['outbound'] {
  // Allowed in production too (benchmarks run production mode against loopback fakes), but
  // logOutboundPolicy reports it at error level on every start of the API and the worker.
  const allowLoopback = e.OUTBOUND_ALLOW_LOOPBACK === 'true';
  const outbound = {
    allowDestinations: list(e.OUTBOUND_ALLOW_DESTINATIONS ?? DEFAULT_DESTINATIONS[e.NODE_ENV]),
    allowAddresses: list(e.OUTBOUND_ALLOW),
    allowLoopback,
    dnsTimeoutMs: e.OUTBOUND_DNS_TIMEOUT_MS,
    dnsServers: list(e.OUTBOUND_DNS_SERVERS),
  };
  try {
    DestinationPolicy.create(outbound.allowDestinations);
    AddressPolicy.create({ allow: outbound.allowAddresses, allowLoopback });
  } catch (error) {
    // The policies' messages name the variable and the entry's position, never its text.
    throw new ConfigError(`invalid configuration: ${(error as Error).message}`);
  }
  return Object.freeze(outbound);
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  warn: (msg: string) => void = (m) => process.stderr.write(m + '\n'),
): Readonly<Config> {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    // Name the variables and the rule they broke; zod issues carry no input values here.
    const names = parsed.error.issues.map((i) => `${i.path.join('.')} (${i.message})`);
    throw new ConfigError(`invalid configuration: ${names.join('; ')}`);
  }
  const e = withSigningKeysFile(parsed.data);
  let masterKeyCurrent: number | null;
  try {
    masterKeyCurrent = parseCurrentVersion(e.KEYPLANE_MASTER_KEY_CURRENT);
  } catch (error) {
    throw new ConfigError(`invalid configuration: KEYPLANE_MASTER_KEY_CURRENT (${(error as Error).message})`);
  }
  const missing = SECRET_VARS.filter((name) => !e[name]);
  let secrets: Partial<Record<SecretVar, string>> = e;
  if (missing.length > 0) {
    if (e.NODE_ENV === 'production') {
      throw new ConfigError(`missing required secret configuration: ${missing.join(', ')}`);
    }
    secrets = { ...e, ...localSecrets(e.KEYPLANE_LOCAL_SECRETS_FILE, missing, devSecret, warn) };
  }
  const databaseUrl = requireDatabaseUrl(e.DATABASE_URL, e.NODE_ENV);
  const backend = queueBackendOf(e);
  if (masterKeyCurrent !== null) {
    // Checked here so a typo fails at start naming the variable; the messages hold versions only.
    try {
      parseKeyring(secrets.KEYPLANE_MASTER_KEYS!, masterKeyCurrent);
    } catch (error) {
      const name = /current key version/.test((error as Error).message) ? 'KEYPLANE_MASTER_KEY_CURRENT' : 'KEYPLANE_MASTER_KEYS';
      throw new ConfigError(`invalid configuration: ${name} (${(error as KeyringError).message})`);
    }
  }
  try {
    parseKeyring(secrets.KEYPLANE_AUDIT_SIGNING_KEYS!);
  } catch (error) {
    throw new ConfigError(`invalid configuration: KEYPLANE_AUDIT_SIGNING_KEYS (${(error as KeyringError).message})`);
  }
  return Object.freeze({
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    databaseUrl,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: backend === 'redis' ? (e.REDIS_URL ?? DEFAULT_REDIS_URL) : null,
    adminToken: secrets.KEYPLANE_ADMIN_TOKEN!,
    masterKeys: secrets.KEYPLANE_MASTER_KEYS!,
    masterKeyCurrent,
    masterKeysGenerated: !e.KEYPLANE_MASTER_KEYS,
    fingerprintKey: secrets.KEYPLANE_FINGERPRINT_KEY!,
    audit: Object.freeze({ signingKeys: secrets.KEYPLANE_AUDIT_SIGNING_KEYS!, checkpointCron: e.AUDIT_CHECKPOINT_CRON }),
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    corsOrigins: list(e.CORS_ORIGINS),
    opsReadonlyToken: e.KEYPLANE_OPS_READONLY_TOKEN ?? null,
    queue: Object.freeze({
      backend,
      prefix: queuePrefixFor(backend, e.QUEUE_PREFIX),
      concurrency: e.WORKER_CONCURRENCY,
      metricsPort: e.WORKER_METRICS_PORT,
      lockDurationMs: e.WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
    }),
    validationMaxAgeHours: e.VALIDATION_MAX_AGE_HOURS,
    rotationGraceHours: e.ROTATION_GRACE_HOURS,
    sweepCron: e.SWEEP_CRON,
    webhook: Object.freeze({
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      retryAfterMaxMs: e.WEBHOOK_RETRY_AFTER_MAX_SECONDS * 1000,
      disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
    }),
    outbound: outboundFrom(e),
    graphql: Object.freeze({
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxComplexity: e.GRAPHQL_MAX_COMPLEXITY,
      introspection: e.GRAPHQL_INTROSPECTION ? e.GRAPHQL_INTROSPECTION === 'true' : e.NODE_ENV !== 'production',
      pageSizeMax: e.PAGE_SIZE_MAX,
      limits: Object.freeze({
        documentBytes: e.GRAPHQL_MAX_DOCUMENT_BYTES,
        tokens: e.GRAPHQL_MAX_TOKENS,
        aliases: e.GRAPHQL_MAX_ALIASES,
        directives: e.GRAPHQL_MAX_DIRECTIVES,
        depth: e.GRAPHQL_MAX_DEPTH,
        introspectionDepth: e.GRAPHQL_MAX_INTROSPECTION_DEPTH,
        selections: e.GRAPHQL_MAX_SELECTIONS,
        fragmentDepth: e.GRAPHQL_MAX_FRAGMENT_DEPTH,
      }),
    }),
    cache: Object.freeze({ ttlMs: e.CACHE_TTL_SECONDS * 1000, maxEntries: e.CACHE_MAX_ENTRIES }),
    security: Object.freeze({ windowMs: e.SECURITY_EVENT_WINDOW_SECONDS * 1000, authFailureThreshold: e.SECURITY_AUTH_FAILURE_THRESHOLD }),
    providerBaseUrls: providerBaseUrls(env),
    keyChecks: Object.freeze({
      tenantLimit: e.KEY_CHECK_TENANT_LIMIT,
      tokenLimit: e.KEY_CHECK_TOKEN_LIMIT,
      periodMs: e.KEY_CHECK_PERIOD_SECONDS * 1000,
      repeatThreshold: e.KEY_CHECK_REPEAT_THRESHOLD,
      repeatWindowMs: e.KEY_CHECK_REPEAT_WINDOW_SECONDS * 1000,
      perRequest: e.KEY_CHECKS_PER_REQUEST,
      cacheTtlMs: e.KEY_TEST_CACHE_SECONDS * 1000,
    }),
  });
}
