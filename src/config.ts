import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, isDnsServer, isolationSettings, list, providerBaseUrls } from './config-values';

export { ConfigError };
import {
  AuditSigner,
  formatKeyring,
  generateKeyMaterial,
  kekRingFrom,
  KeyringError,
  parseCurrentVersion,
  parseKeyring,
  parsePepperRing,
  parsePkcs11KeyLabels,
  SecretText,
  type Fingerprinter,
  type KekSettings,
  type Keyring,
  type Pkcs11Settings,
} from './crypto';
import { localSecrets } from './dev-secrets';
import type { RequestLimits } from './graphql/request-guard';
import { AddressPolicy } from './outbound/address-policy';
import { DestinationPolicy } from './outbound/destination-policy';
import type { IsolationSettings } from './outbound/isolation/slots';

/**
 * The only reader of process.env. Parsed once, typed, frozen; a bad value fails fast naming the
 * variable and never printing what it held.
 */
/** How often workers sign moved audit chain heads (AUDIT_CHECKPOINT_CRON's default, UTC). */
export const DEFAULT_AUDIT_CHECKPOINT_CRON = '*/15 * * * *';

const Env = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Unset: `npm start` runs an embedded PostgreSQL and sets it (never in production; src/embedded).
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  // Streaming replicas for read-only GraphQL queries (docs/scale.md): postgres:// URLs, comma-separated.
  DATABASE_REPLICA_URLS: z
    .string()
    .optional()
    .refine((v) => v === undefined || list(v).every(isPostgresUrl), 'a comma-separated list of postgres:// URLs'),
  // A replica serves a read only when it holds every commit older than this (measured, not assumed).
  DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(100).max(600_000).default(1000),
  // How often each API process measures its replicas (one tiny query on the primary and one per replica).
  DATABASE_REPLICA_PROBE_MS: z.coerce.number().int().min(20).max(60_000).default(200),
  REDIS_URL: z.string().url().optional(),
  // A Redis Cluster instead of one server (README "Running at scale"): seed nodes, host:port,...
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .refine((v) => v === undefined || (list(v).length > 0 && list(v).every(isHostPort)), 'a comma-separated list of host:port'),
  // Cluster credentials and TLS, as managed clusters need (with REDIS_URL they go in the URL).
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_TLS: z.enum(['true', 'false']).default('false'),
  // Where BullMQ keeps jobs, and with it live events and shared key-check limits (src/queue/backend.ts).
  QUEUE_BACKEND: z.enum(['redis', 'postgres'], { message: 'expected "redis" or "postgres"' }).optional(),
  KEYPLANE_ADMIN_TOKEN: z.string().min(32).optional(),
  KEYPLANE_MASTER_KEYS: z.string().min(1).optional(),
  // The KEK version new seals use (default: the highest in KEYPLANE_MASTER_KEYS). Not secret.
  KEYPLANE_MASTER_KEY_CURRENT: z.string().optional(),
  // A versioned pepper ring (`1:<secret>,2:<secret>`) or one plain secret (version 1).
  KEYPLANE_FINGERPRINT_KEY: z.string().min(32).optional(),
  // The pepper version new fingerprints use (default: the highest). Not secret.
  KEYPLANE_FINGERPRINT_KEY_CURRENT: z.string().optional(),
  // Where KEKs live (docs/kek-providers.md): local (KEYPLANE_MASTER_KEYS) or pkcs11 (an HSM; local keys may stay for the move).
  KEYPLANE_KEK_PROVIDER: z.enum(['local', 'pkcs11'], { message: 'expected "local" or "pkcs11"' }).default('local'),
  KEYPLANE_PKCS11_MODULE: z.string().min(1).optional(),
  KEYPLANE_PKCS11_TOKEN_LABEL: z.string().min(1).max(32).optional(),
  KEYPLANE_PKCS11_PIN: z.string().min(1).optional(),
  KEYPLANE_PKCS11_PIN_FILE: z.string().min(1).optional(),
  // VERSION[:LABEL],... : the KEK versions held in the token; a bare version gets KEYPLANE_PKCS11_KEY_LABEL.
  KEYPLANE_PKCS11_KEY_VERSIONS: z.string().min(1).optional(),
  KEYPLANE_PKCS11_KEY_LABEL: z.string().includes('{version}', { message: 'must contain {version}' }).default('keyplane-kek-{version}'),
  KEYPLANE_PKCS11_SESSIONS: z.coerce.number().int().min(1).max(64).default(4),
  // Ed25519 keys signing audit checkpoints (versioned like the master keys), or a file holding them.
  KEYPLANE_AUDIT_SIGNING_KEYS: z.string().min(1).optional(),
  KEYPLANE_AUDIT_SIGNING_KEYS_FILE: z.string().min(1).optional(),
  AUDIT_CHECKPOINT_CRON: z.string().min(9).default(DEFAULT_AUDIT_CHECKPOINT_CRON),
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
  // The outbox relay marks a row sent only once this many Redis replicas hold its job (WAIT); 0: off.
  QUEUE_REPLICA_ACKS: z.coerce.number().int().min(0).max(5).default(0),
  QUEUE_REPLICA_ACK_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(500),
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
  // How often the reconciler re-creates from PostgreSQL what the queue store lost (README: Outages).
  RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
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
  // Isolation between tenants on the worker's outbound paths (src/outbound/isolation).
  OUTBOUND_MAX_PER_TENANT: z.coerce.number().int().min(1).max(1000).default(4),
  OUTBOUND_MAX_PER_DESTINATION: z.coerce.number().int().min(1).max(1000).default(4),
  OUTBOUND_BACKOFF_AFTER: z.coerce.number().int().min(1).max(1000).default(3),
  OUTBOUND_BACKOFF_BASE_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  OUTBOUND_BACKOFF_MAX_MS: z.coerce.number().int().min(100).max(86_400_000).default(300_000),
  OUTBOUND_DEFER_MS: z.coerce.number().int().min(10).max(60_000).default(500),
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
  /**
   * DATABASE_REPLICA_URLS and their lag bound (src/db/replicas.ts, docs/scale.md): the API's
   * read-only GraphQL queries may read there; null: every read goes to DATABASE_URL.
   */
  databaseReplicas: DatabaseReplicaSettings | null;
  /** null on the postgres queue backend and with a cluster: nothing then connects to one Redis. */
  redisUrl: string | null;
  /** REDIS_CLUSTER_NODES: every Redis user connects to this Redis Cluster instead (src/queue/connection.ts). */
  redisCluster: RedisClusterSettings | null;
  adminToken: string;
  masterKeys: string;
  /** KEYPLANE_MASTER_KEY_CURRENT: the version new seals use; null: the highest in masterKeys. */
  masterKeyCurrent: number | null;
  /** Whether masterKeys was generated for local development (no KEYPLANE_MASTER_KEYS set). */
  masterKeysGenerated: boolean;
  /** KEYPLANE_KEK_PROVIDER and, for pkcs11, the token and the KEK versions it holds (masterKeys is '' when only the HSM holds keys). */
  kek: KekSettings['kek'];
  fingerprintKey: string;
  /** KEYPLANE_FINGERPRINT_KEY_CURRENT: the pepper version new fingerprints use; null: the highest. */
  fingerprintKeyCurrent: number | null;
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
  queue: {
    backend: QueueBackendKind;
    prefix: string;
    concurrency: number;
    metricsPort: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    /**
     * QUEUE_REPLICA_ACKS / _TIMEOUT_MS: Redis replicas that must hold a relayed job before its outbox
     * row is marked sent (workers/replica-acks.ts, docs/scale.md); null: not waited for.
     */
    replicaAcks: { replicas: number; timeoutMs: number } | null;
  };
  /** Re-validate keys whose last check is older than this; daily sweeps run on this cron (UTC). */
  validationMaxAgeHours: number;
  rotationGraceHours: number;
  sweepCron: string;
  /** Reconciler period (RECONCILE_INTERVAL_SECONDS): schedulers, lost validations and deliveries come back within it. */
  reconcileIntervalMs: number;
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
  /**
   * Isolation between tenants on the webhook and key-check paths (README "Isolation between
   * tenants"): concurrent calls per tenant and per host:port, and the backoff of a destination that
   * keeps not answering (after `backoffAfter` in a row: base, doubling, up to max).
   */
  outboundIsolation: IsolationSettings;
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

export interface DatabaseReplicaSettings {
  urls: string[];
  maxLagMs: number;
  probeIntervalMs: number;
}

function isPostgresUrl(entry: string): boolean {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(entry).protocol);
  } catch {
    return false;
  }
}

/**
 * The lag bound must leave room for measuring it: a replica is known fresh only up to the last
 * probe, so a bound under two probe periods would send almost every read to the primary.
 */
function databaseReplicasFrom(e: z.infer<typeof Env>): DatabaseReplicaSettings | null {
  const urls = list(e.DATABASE_REPLICA_URLS ?? '');
  if (urls.length === 0) return null;
  if (e.DATABASE_REPLICA_MAX_LAG_MS < 2 * e.DATABASE_REPLICA_PROBE_MS) {
    throw new ConfigError('invalid configuration: DATABASE_REPLICA_MAX_LAG_MS (must be at least twice DATABASE_REPLICA_PROBE_MS)');
  }
  return Object.freeze({ urls, maxLagMs: e.DATABASE_REPLICA_MAX_LAG_MS, probeIntervalMs: e.DATABASE_REPLICA_PROBE_MS });
}

/** A Redis Cluster's seed nodes (any reachable one suffices to learn the rest) and its credentials. */
export interface RedisClusterSettings {
  nodes: { host: string; port: number }[];
  username: string | null;
  password: string | null;
  tls: boolean;
}

function isHostPort(entry: string): boolean {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
  return m !== null && Number(m[2]) > 0 && Number(m[2]) < 65536;
}

/**
 * REDIS_CLUSTER_NODES, checked against the rest: a cluster is the redis queue backend, instead of
 * REDIS_URL, and Keyplane puts hash tags around the prefix itself (src/queue/key-layout.ts), so a
 * prefix with braces would move keys between slots it does not control. Values are never printed.
 */
function redisClusterFrom(e: z.infer<typeof Env>, backend: QueueBackendKind): RedisClusterSettings | null {
  if (!e.REDIS_CLUSTER_NODES) return null;
  if (backend !== 'redis') throw new ConfigError('invalid configuration: REDIS_CLUSTER_NODES is set but QUEUE_BACKEND is not "redis"');
  if (e.REDIS_URL)
    throw new ConfigError('invalid configuration: set REDIS_URL (one Redis server) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  if (/[{}]/.test(e.QUEUE_PREFIX)) {
    throw new ConfigError(
      'invalid configuration: QUEUE_PREFIX must not contain "{" or "}" with REDIS_CLUSTER_NODES (Keyplane adds the Redis Cluster hash tags itself, one per queue)',
    );
  }
  return {
    nodes: list(e.REDIS_CLUSTER_NODES).map((entry) => {
      const at = entry.lastIndexOf(':');
      return { host: entry.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(entry.slice(at + 1)) };
    }),
    username: e.REDIS_USERNAME ?? null,
    password: e.REDIS_PASSWORD ?? null,
    tls: e.REDIS_TLS === 'true',
  };
}

/** Replica acknowledgements are a Redis notion: asking for them on PostgreSQL is a mistake worth stopping for. */
function replicaAcksFrom(e: z.infer<typeof Env>, backend: QueueBackendKind): Config['queue']['replicaAcks'] {
  if (e.QUEUE_REPLICA_ACKS === 0) return null;
  if (backend !== 'redis') throw new ConfigError('invalid configuration: QUEUE_REPLICA_ACKS is set but QUEUE_BACKEND is not "redis"');
  return Object.freeze({ replicas: e.QUEUE_REPLICA_ACKS, timeoutMs: e.QUEUE_REPLICA_ACK_TIMEOUT_MS });
}

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

/** The master keyring the config names, with its current version (local keys only; see kekRingFrom for the whole ring). */
export function masterKeyring(config: Pick<Config, 'masterKeys' | 'masterKeyCurrent'>): Keyring {
  return parseKeyring(config.masterKeys, config.masterKeyCurrent);
}

/** The fingerprint pepper ring the config names, with its current version. */
export function fingerprinterFor(config: Pick<Config, 'fingerprintKey' | 'fingerprintKeyCurrent'>): Fingerprinter {
  return parsePepperRing(config.fingerprintKey, config.fingerprintKeyCurrent);
}

/**
 * KEYPLANE_KEK_PROVIDER=pkcs11: module, token, PIN (or a file holding it) and key versions are all
 * required. Messages name the variable, never the PIN or the file's content.
 */
function kekFrom(e: z.infer<typeof Env>): KekSettings['kek'] {
  if (e.KEYPLANE_KEK_PROVIDER !== 'pkcs11') return Object.freeze({ provider: 'local' as const, pkcs11: null });
  const need = (['KEYPLANE_PKCS11_MODULE', 'KEYPLANE_PKCS11_TOKEN_LABEL', 'KEYPLANE_PKCS11_KEY_VERSIONS'] as const).filter((n) => !e[n]);
  if (!e.KEYPLANE_PKCS11_PIN === !e.KEYPLANE_PKCS11_PIN_FILE) need.push('exactly one of KEYPLANE_PKCS11_PIN, KEYPLANE_PKCS11_PIN_FILE' as never);
  if (need.length) throw new ConfigError(`invalid configuration: KEYPLANE_KEK_PROVIDER=pkcs11 needs ${need.join(', ')}`);
  let pin: string;
  if (e.KEYPLANE_PKCS11_PIN_FILE) {
    try {
      pin = readFileSync(e.KEYPLANE_PKCS11_PIN_FILE, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`invalid configuration: KEYPLANE_PKCS11_PIN_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!pin) throw new ConfigError('invalid configuration: KEYPLANE_PKCS11_PIN_FILE is empty');
  } else pin = e.KEYPLANE_PKCS11_PIN!;
  let keyLabels: Map<number, string>;
  try {
    keyLabels = parsePkcs11KeyLabels(e.KEYPLANE_PKCS11_KEY_VERSIONS!, e.KEYPLANE_PKCS11_KEY_LABEL);
  } catch (error) {
    throw new ConfigError(`invalid configuration: KEYPLANE_PKCS11_KEY_VERSIONS (${(error as Error).message})`);
  }
  const pkcs11: Pkcs11Settings = Object.freeze({
    modulePath: e.KEYPLANE_PKCS11_MODULE!,
    tokenLabel: e.KEYPLANE_PKCS11_TOKEN_LABEL!,
    pin: new SecretText(pin),
    keyLabels,
    sessions: e.KEYPLANE_PKCS11_SESSIONS,
  });
  return Object.freeze({ provider: 'pkcs11' as const, pkcs11 });
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
  const parsed = Env.pick({ QUEUE_BACKEND: true, REDIS_URL: true, REDIS_CLUSTER_NODES: true, QUEUE_PREFIX: true }).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join('; ')}`);
  }
  const backend = queueBackendOf(parsed.data);
  return { backend, prefix: queuePrefixFor(backend, parsed.data.QUEUE_PREFIX) };
}

/**
 * The queue backend, decided here only: QUEUE_BACKEND when set, else postgres when no REDIS_URL or
 * REDIS_CLUSTER_NODES is configured (one engine to run and back up) and redis when one is.
 */
export function queueBackendOf(e: { QUEUE_BACKEND?: QueueBackendKind; REDIS_URL?: string; REDIS_CLUSTER_NODES?: string }): QueueBackendKind {
  return e.QUEUE_BACKEND ?? (e.REDIS_URL || e.REDIS_CLUSTER_NODES ? 'redis' : 'postgres');
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
  let fingerprintKeyCurrent: number | null;
  try {
    fingerprintKeyCurrent = parseCurrentVersion(e.KEYPLANE_FINGERPRINT_KEY_CURRENT);
  } catch (error) {
    throw new ConfigError(
      `invalid configuration: KEYPLANE_FINGERPRINT_KEY_CURRENT (${(error as Error).message.replace('key version', 'pepper version')})`,
    );
  }
  const kek = kekFrom(e);
  // With an HSM, local keys are optional: present only while records move off them.
  const missing = SECRET_VARS.filter((name) => !e[name] && !(name === 'KEYPLANE_MASTER_KEYS' && kek.provider === 'pkcs11'));
  let secrets: Partial<Record<SecretVar, string>> = e;
  if (missing.length > 0) {
    if (e.NODE_ENV === 'production') {
      throw new ConfigError(`missing required secret configuration: ${missing.join(', ')}`);
    }
    secrets = { ...e, ...localSecrets(e.KEYPLANE_LOCAL_SECRETS_FILE, missing, devSecret, warn) };
  }
  const databaseUrl = requireDatabaseUrl(e.DATABASE_URL, e.NODE_ENV);
  const backend = queueBackendOf(e);
  const redisCluster = redisClusterFrom(e, backend);
  const masterKeys = secrets.KEYPLANE_MASTER_KEYS ?? '';
  // Checked here so a typo fails at start naming the variable; the messages hold versions only.
  // Nothing connects yet: the HSM is reached at start (app.ts, workers/main.ts).
  try {
    kekRingFrom({ masterKeys, masterKeyCurrent, kek });
  } catch (error) {
    const message = (error as KeyringError).message;
    const name = /KEYPLANE_/.test(message)
      ? 'KEYPLANE_KEK_PROVIDER'
      : /current key version/.test(message)
        ? 'KEYPLANE_MASTER_KEY_CURRENT'
        : /configured twice/.test(message)
          ? 'KEYPLANE_MASTER_KEYS, KEYPLANE_PKCS11_KEY_VERSIONS'
          : /no key version/.test(message)
            ? 'KEYPLANE_MASTER_KEYS'
            : masterKeys && !kek.pkcs11
              ? 'KEYPLANE_MASTER_KEYS'
              : 'KEYPLANE_MASTER_KEYS or KEYPLANE_PKCS11_KEY_VERSIONS';
    throw new ConfigError(`invalid configuration: ${name} (${message})`);
  }
  try {
    // Parsed here so a malformed entry fails at start naming the variable; messages hold positions and versions only.
    parsePepperRing(secrets.KEYPLANE_FINGERPRINT_KEY!, fingerprintKeyCurrent);
  } catch (error) {
    const name = /current pepper version/.test((error as Error).message) ? 'KEYPLANE_FINGERPRINT_KEY_CURRENT' : 'KEYPLANE_FINGERPRINT_KEY';
    throw new ConfigError(`invalid configuration: ${name} (${(error as Error).message})`);
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
    databaseReplicas: databaseReplicasFrom(e),
    redisUrl: backend === 'redis' && !redisCluster ? (e.REDIS_URL ?? DEFAULT_REDIS_URL) : null,
    redisCluster: redisCluster && Object.freeze(redisCluster),
    adminToken: secrets.KEYPLANE_ADMIN_TOKEN!,
    masterKeys,
    masterKeyCurrent,
    masterKeysGenerated: !e.KEYPLANE_MASTER_KEYS && kek.provider === 'local',
    kek,
    fingerprintKey: secrets.KEYPLANE_FINGERPRINT_KEY!,
    fingerprintKeyCurrent,
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
      replicaAcks: replicaAcksFrom(e, backend),
    }),
    validationMaxAgeHours: e.VALIDATION_MAX_AGE_HOURS,
    rotationGraceHours: e.ROTATION_GRACE_HOURS,
    sweepCron: e.SWEEP_CRON,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_SECONDS * 1000,
    webhook: Object.freeze({
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      retryAfterMaxMs: e.WEBHOOK_RETRY_AFTER_MAX_SECONDS * 1000,
      disableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
    }),
    outbound: outboundFrom(e),
    outboundIsolation: isolationSettings({
      maxPerTenant: e.OUTBOUND_MAX_PER_TENANT,
      maxPerDestination: e.OUTBOUND_MAX_PER_DESTINATION,
      backoffAfter: e.OUTBOUND_BACKOFF_AFTER,
      backoffBaseMs: e.OUTBOUND_BACKOFF_BASE_MS,
      backoffMaxMs: e.OUTBOUND_BACKOFF_MAX_MS,
      deferMs: e.OUTBOUND_DEFER_MS,
    }),
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
