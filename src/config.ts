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
import { providerPoolDefaults, type IsolationSettings } from './outbound/isolation/slots';

/**
 * The only reader of process.env. Parsed once, typed, frozen; a bad value fails fast naming the
 * variable and never printing what it held.
 */
/** How often workers sign moved audit chain heads (AUDIT_CHECKPOINT_CRON's default, UTC). */
export const DEFAULT_AUDIT_CHECKPOINT_CRON = '*/15 * * * *';

/**
 * The environment, one entry per variable. Each `.describe()` text (Markdown, links relative to
 * docs/) and `.meta({ secret })` mark is rendered into docs/configuration.md by
 * scripts/emit-config-docs.ts (`npm run config:docs`; CI runs `config:check`): describe a new
 * setting here, not in the docs.
 */
export const Env = z.object({
  NODE_ENV: z
    .enum(['development', 'test', 'production'])
    .default('development')
    .describe(
      'Production requires `DATABASE_URL` and the four secrets (`KEYPLANE_ADMIN_TOKEN`, `KEYPLANE_MASTER_KEYS`, `KEYPLANE_FINGERPRINT_KEY`, `KEYPLANE_AUDIT_SIGNING_KEYS`), never starts the embedded PostgreSQL and turns introspection off.',
    ),
  HOST: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server listens on.'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000).describe('Port the HTTP server listens on.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Level of the JSON logs (pino).'),
  // Unset: `npm start` runs an embedded PostgreSQL and sets it (never in production; src/embedded).
  DATABASE_URL: z
    .string()
    .url()
    .optional()
    .meta({ secret: 'a password in it is' })
    .describe(
      'PostgreSQL connection URL. Unset, `npm start` runs the embedded PostgreSQL (not in production, where it is required). See [Deployment shapes](operations.md#deployment-shapes).',
    ),
  DATABASE_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(10)
    .describe('Connections per process. The worker uses at least `WORKER_CONCURRENCY` + 4, so concurrent jobs do not wait for a connection.'),
  DATABASE_REPLICA_URLS: z
    .string()
    .optional()
    .refine((v) => v === undefined || list(v).every(isPostgresUrl), 'a comma-separated list of postgres:// URLs')
    .meta({ secret: 'a password in it is' })
    .describe(
      "Streaming replicas for read-only GraphQL queries, comma-separated `postgres://` URLs. Token lookups, gateway config pulls, mutations and a tenant's reads right after its own writes stay on the primary. See [Running at scale](scale.md).",
    ),
  DATABASE_REPLICA_MAX_LAG_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(1000)
    .describe(
      'A replica serves a read only when it holds every commit older than this (measured, not assumed); otherwise the read goes to the primary. At least twice `DATABASE_REPLICA_PROBE_MS`.',
    ),
  DATABASE_REPLICA_PROBE_MS: z.coerce
    .number()
    .int()
    .min(20)
    .max(60_000)
    .default(200)
    .describe("How often each API process measures its replicas' replay lag (one small query on the primary and one per replica)."),
  REDIS_URL: z
    .string()
    .url()
    .optional()
    .meta({ secret: 'a password in it is' })
    .describe(
      'Redis, for `QUEUE_BACKEND=redis` (`redis://127.0.0.1:6379` when that is set without a URL). The worker runs the BullMQ queues on it and publishes live events. The API uses it for `/readyz` (`503` while Redis is down), the queue dashboard, the queue gauges of `/metrics`, GraphQL subscriptions (pub/sub), `keyRescan` status, and the key-check limits and cache (which fall back to per-process limits and no cache while it is down). Mutations never need it: they write queue work to the `outbox` table in their own transaction, and the worker relays it.',
    ),
  // A Redis Cluster instead of one server (docs/workers-and-queues.md "Running at scale"): seed nodes, host:port,...
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .refine((v) => v === undefined || (list(v).length > 0 && list(v).every(isHostPort)), 'a comma-separated list of host:port')
    .describe(
      'A Redis Cluster instead of `REDIS_URL`: comma-separated `host:port` seed nodes. Implies `QUEUE_BACKEND=redis`. See [Running at scale](workers-and-queues.md#running-at-scale).',
    ),
  // Cluster credentials and TLS, as managed clusters need (with REDIS_URL they go in the URL).
  REDIS_USERNAME: z.string().min(1).optional().describe("ACL user for the cluster's nodes (with `REDIS_URL` it goes in the URL)."),
  REDIS_PASSWORD: z
    .string()
    .min(1)
    .optional()
    .meta({ secret: true })
    .describe("Password for the cluster's nodes (with `REDIS_URL` it goes in the URL)."),
  REDIS_TLS: z.enum(['true', 'false']).default('false').describe('`true`: TLS to every cluster node (managed clusters).'),
  // Where BullMQ keeps jobs, and with it live events and shared key-check limits (src/queue/backend.ts).
  QUEUE_BACKEND: z
    .enum(['redis', 'postgres'], { message: 'expected "redis" or "postgres"' })
    .optional()
    .describe(
      "Where BullMQ keeps jobs, and with them live events and the shared key-check limits: `redis`, or `postgres` (BullMQ's PostgreSQL backend, in `DATABASE_URL`'s database). Unset: `postgres` without `REDIS_URL` or `REDIS_CLUSTER_NODES`, else `redis`. See [Deployment shapes](operations.md#deployment-shapes).",
    ),
  KEYPLANE_ADMIN_TOKEN: z
    .string()
    .min(32)
    .optional()
    .meta({ secret: true })
    .describe('Bearer token of the platform admin. Generated outside production; required in production.'),
  KEYPLANE_MASTER_KEYS: z
    .string()
    .min(1)
    .optional()
    .meta({ secret: true })
    .describe(
      'Keyring of key-encryption keys, `1:<base64>,2:<base64>` (32 random bytes each). Generated outside production; required in production unless the KEKs are in an HSM. See [Generating the master key](operations.md#generating-the-master-key).',
    ),
  // The KEK version new seals use (default: the highest in KEYPLANE_MASTER_KEYS). Not secret.
  KEYPLANE_MASTER_KEY_CURRENT: z
    .string()
    .optional()
    .describe(
      'The KEK version new seals use (unset: the highest in the ring); must be in the ring. Two-phase key change: [Rotate the master key](operations.md#rotate-the-master-key).',
    ),
  // A versioned pepper ring (`1:<secret>,2:<secret>`) or one plain secret (version 1).
  KEYPLANE_FINGERPRINT_KEY: z
    .string()
    .min(32)
    .optional()
    .meta({ secret: true })
    .describe(
      'Pepper for key fingerprints (HMAC-SHA256), separate from the master keys: a versioned ring `1:<secret>,2:<secret>` (each at least 32 bytes) or one plain secret (version 1). Generated outside production; required in production.',
    ),
  // The pepper version new fingerprints use (default: the highest). Not secret.
  KEYPLANE_FINGERPRINT_KEY_CURRENT: z
    .string()
    .optional()
    .describe('The pepper version new fingerprints use (unset: the highest in the ring). See [Rotate the pepper](operations.md#rotate-the-pepper).'),
  // Where KEKs live (docs/kek-providers.md): local (KEYPLANE_MASTER_KEYS) or pkcs11 (an HSM; local keys may stay for the move).
  KEYPLANE_KEK_PROVIDER: z
    .enum(['local', 'pkcs11'], { message: 'expected "local" or "pkcs11"' })
    .default('local')
    .describe(
      'Where key-encryption keys live: `local` (`KEYPLANE_MASTER_KEYS`) or `pkcs11` (non-extractable keys in an HSM; local keys may stay alongside while records move off them). See [KEK providers](kek-providers.md).',
    ),
  KEYPLANE_PKCS11_MODULE: z.string().min(1).optional().describe("With `pkcs11`: path of the vendor's PKCS#11 module (`.so`)."),
  KEYPLANE_PKCS11_TOKEN_LABEL: z.string().min(1).max(32).optional().describe('With `pkcs11`: label of the token holding the KEKs.'),
  KEYPLANE_PKCS11_PIN: z
    .string()
    .min(1)
    .optional()
    .meta({ secret: true })
    .describe('With `pkcs11`: the user PIN of the token (or `KEYPLANE_PKCS11_PIN_FILE`, exactly one of the two). Never printed.'),
  KEYPLANE_PKCS11_PIN_FILE: z
    .string()
    .min(1)
    .optional()
    .meta({ secret: 'its contents are' })
    .describe('With `pkcs11`: a file holding the PIN (a mounted secret), instead of `KEYPLANE_PKCS11_PIN`.'),
  // VERSION[:LABEL],... : the KEK versions held in the token; a bare version gets KEYPLANE_PKCS11_KEY_LABEL.
  KEYPLANE_PKCS11_KEY_VERSIONS: z
    .string()
    .min(1)
    .optional()
    .describe(
      'With `pkcs11`: the KEK versions held in the token, `VERSION[:LABEL],...` (`2`, `2,3` or `3:my-label`); versions are one number space with `KEYPLANE_MASTER_KEYS`.',
    ),
  KEYPLANE_PKCS11_KEY_LABEL: z
    .string()
    .includes('{version}', { message: 'must contain {version}' })
    .default('keyplane-kek-{version}')
    .describe('With `pkcs11`: the label of a KEK listed without one, `{version}` standing for its version.'),
  KEYPLANE_PKCS11_SESSIONS: z.coerce.number().int().min(1).max(64).default(4).describe('With `pkcs11`: PKCS#11 sessions each process opens.'),
  // Ed25519 keys signing audit checkpoints (versioned like the master keys), or a file holding them.
  KEYPLANE_AUDIT_SIGNING_KEYS: z
    .string()
    .min(1)
    .optional()
    .meta({ secret: true })
    .describe(
      'Ed25519 keys (32-byte seeds) signing audit checkpoints, `1:<base64>,2:<base64>`; the highest version signs. Never stored in the database. Generated outside production; required in production. See [Checkpoints](audit.md#checkpoints).',
    ),
  KEYPLANE_AUDIT_SIGNING_KEYS_FILE: z
    .string()
    .min(1)
    .optional()
    .meta({ secret: 'its contents are' })
    .describe('A file holding `KEYPLANE_AUDIT_SIGNING_KEYS` (a mounted secret); used when that variable is unset.'),
  AUDIT_CHECKPOINT_CRON: z
    .string()
    .min(9)
    .default(DEFAULT_AUDIT_CHECKPOINT_CRON)
    .describe('When workers sign the moved audit chain heads (cron, UTC): the most a database-only attacker can rewrite unseen.'),
  KEYPLANE_LOCAL_SECRETS_FILE: z
    .string()
    .default('.keyplane/dev-secrets.json')
    .meta({ secret: 'its contents are' })
    .describe('Where missing secrets are generated outside production.'),
  KEYPLANE_DEV_SECRETS_NOTICE: z
    .enum(['true', 'false'])
    .default('true')
    .describe(
      '`false` silences the development-secrets notice; `npm start` prints it once in its configuration check and sets this for the API and worker it starts.',
    ),
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(8000).describe('Timeout of a live key check against a provider.'),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(10).describe('Deepest selection nesting accepted, through fragments.'),
  GRAPHQL_MAX_COMPLEXITY: z.coerce
    .number()
    .int()
    .min(10)
    .default(5000)
    .describe('Highest query cost accepted (`first` is priced); above it the error code is `QUERY_TOO_COMPLEX`.'),
  GRAPHQL_INTROSPECTION: z
    .enum(['true', 'false'])
    .optional()
    .describe(
      'Overrides introspection, which is on outside production and off in production. Field suggestions ("Did you mean …") in error messages follow it.',
    ),
  GRAPHQL_LANDING_PAGE: z
    .enum(['true', 'false'])
    .optional()
    .describe("Apollo's landing page on `GET /graphql` (it loads scripts from Apollo's CDN): on outside production, off in production unless set."),
  // Request limits checked before validation (src/graphql/request-guard.ts).
  GRAPHQL_MAX_DOCUMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024)
    .default(32 * 1024)
    .describe('Largest GraphQL document (the `query` text, not the variables), in bytes.'),
  GRAPHQL_MAX_TOKENS: z.coerce
    .number()
    .int()
    .min(100)
    .max(100_000)
    .default(3000)
    .describe("Most lexical tokens in a document (graphql-js's parser stops there)."),
  GRAPHQL_MAX_ALIASES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(30)
    .describe('Most aliases in an operation, counted through fragments; `__typename` is no exception.'),
  GRAPHQL_MAX_DIRECTIVES: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(20)
    .describe('Most directives in an operation, counted through fragments.'),
  GRAPHQL_MAX_SELECTIONS: z.coerce
    .number()
    .int()
    .min(10)
    .max(100_000)
    .default(1000)
    .describe('Most selections in an operation once every fragment spread is expanded.'),
  GRAPHQL_MAX_FRAGMENT_DEPTH: z.coerce.number().int().min(1).max(50).default(8).describe('Longest chain of fragments spreading fragments.'),
  GRAPHQL_MAX_INTROSPECTION_DEPTH: z.coerce
    .number()
    .int()
    .min(2)
    .max(50)
    .default(15)
    .describe('Deepest nesting below `__schema` or `__type` (introspection is off in production anyway).'),
  PAGE_SIZE_MAX: z.coerce.number().int().min(1).max(1000).default(100).describe('Largest `first` a list query accepts.'),
  CORS_ORIGINS: z
    .string()
    .default('')
    .describe('Comma-separated browser origins allowed to call the API (e.g. `https://settings.example.com`); empty sends no CORS headers.'),
  KEYPLANE_OPS_READONLY_TOKEN: z
    .string()
    .min(32)
    .optional()
    .meta({ secret: true })
    .describe(
      "Optional, never generated (an empty value fails the check: leave it unset). A second token for the API's queue dashboard (read-only) and `/metrics`; it cannot call GraphQL.",
    ),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,64}$/)
    .default('keyplane')
    .describe(
      "Prefix of every BullMQ key and live-event channel in Redis, or of BullMQ's PostgreSQL schema (`keyplane` gives `keyplane_queues`; there a letter, then letters, digits, `-` or `_`). The API and the workers must use the same one; deployments sharing a Redis need different ones. No `{` or `}` with `REDIS_CLUSTER_NODES`.",
    ),
  WORKER_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(10)
    .describe('Jobs one worker process runs at once on each of its four queues.'),
  QUEUE_REPLICA_ACKS: z.coerce
    .number()
    .int()
    .min(0)
    .max(5)
    .default(0)
    .describe(
      'The outbox relay marks a row sent only once this many Redis replicas hold its job (`WAIT`), so a master lost before replication loses no job; `0`: off. See [Running at scale](scale.md).',
    ),
  QUEUE_REPLICA_ACK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(10_000)
    .default(500)
    .describe('How long the relay waits for those replicas before it rolls back and relays the rows again.'),
  WORKER_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(9464)
    .describe("Port of the worker's `/metrics` and `/healthz`, on all interfaces and without auth; `0` turns the server off."),
  // A job whose worker stops renewing its lock (crash, SIGKILL) is retried elsewhere after these.
  WORKER_LOCK_DURATION_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(600000)
    .default(30000)
    .describe('BullMQ job lock. A job whose worker stops renewing it (crash, SIGKILL) is picked up by another worker once it lapses.'),
  WORKER_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).max(600000).default(30000).describe('How often workers look for such stalled jobs.'),
  VALIDATION_MAX_AGE_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 90)
    .default(24)
    .describe('The daily revalidation sweep re-checks every serving key whose last check is older than this.'),
  ROTATION_GRACE_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 30)
    .default(24)
    .describe('After a rotated key validates, the key it replaces is still served, as `PREVIOUS`, for this long (`0` retires it at once).'),
  SWEEP_CRON: z
    .string()
    .min(9)
    .default('0 3 * * *')
    .describe(
      'Cron pattern, in UTC, of the daily revalidation and rotation-reminder sweeps. Only its length is checked at start-up; BullMQ parses it when the worker registers the schedulers.',
    ),
  // How often the reconciler re-creates from PostgreSQL what the queue store lost (docs/operations.md: Outages).
  RECONCILE_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(120)
    .describe(
      'How often the reconciler re-creates from PostgreSQL what the queue store lost; see [Outages](operations.md#outages-what-happens-to-in-flight-work).',
    ),
  WEBHOOK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(60000)
    .default(5000)
    .describe('Deadline of one webhook attempt: connect, headers and body.'),
  WEBHOOK_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(20)
    .default(6)
    .describe("Tries of one webhook delivery before it is dead-lettered. Capped by the queue's 6 attempts per job: values above 6 act as 6."),
  // A receiver's Retry-After (429, 503) is honoured up to this many seconds (src/modules/webhook/retry-after.ts).
  WEBHOOK_RETRY_AFTER_MAX_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(3600)
    .describe(
      "Longest wait a receiver's `Retry-After` (on `429` or `503`) may impose before the next try; a longer one waits this long. See [Receivers respected](gateway-integration.md#receivers-respected-retry-after-410-and-disabled-endpoints).",
    ),
  // Deliveries dead in a row (each after all its tries) before an endpoint is disabled; 0: never by count.
  WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(10)
    .describe(
      'Deliveries in a row that may die (each after all its tries) before their endpoint is disabled (`0`: never by count; a `410` still disables). A delivered message resets the count.',
    ),
  OUTBOUND_ALLOW: z
    .string()
    .default('')
    .describe(
      'Comma-separated exact hostnames, IP addresses or CIDR ranges of private, shared or reserved addresses that outbound requests may connect to. It cannot open metadata, link-local, unspecified, broadcast, multicast or loopback addresses. A bad entry stops the API and the worker at start, naming its position.',
    ),
  // Unset: the NODE_ENV default below; set (even empty): exactly that list.
  OUTBOUND_ALLOW_DESTINATIONS: z
    .string()
    .optional()
    .describe(
      'Comma-separated `<http|https>://<host>[:<port>]` destinations that webhooks and provider key checks may name besides `https://*:443`, which is always allowed. Unset: empty in production, `http://*:*,https://*:*` in development and test; set (even empty), it replaces the default. A bad entry stops the API and the worker at start, naming its position. See [Outbound requests](security.md#outbound-requests-and-ssrf).',
    ),
  OUTBOUND_ALLOW_LOOPBACK: z
    .enum(['true', 'false'])
    .default('false')
    .describe(
      '`true` lets outbound requests reach `127.0.0.0/8` and `::1` (a webhook receiver or fake provider on this machine; the tests use it). Logged at start: a warning, an error in production.',
    ),
  // Outbound names are resolved by c-ares (src/outbound/async-resolver.ts), bounded by this timeout.
  OUTBOUND_DNS_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(30_000)
    .default(2_000)
    .describe(
      "The longest an outbound name may take to resolve. Names are resolved by c-ares (`dns.Resolver`), not `getaddrinfo`: a tenant's names that never answer hold no thread of libuv's pool, so they cannot stall other tenants' key checks and webhooks. `/etc/hosts` is read once at start.",
    ),
  OUTBOUND_DNS_SERVERS: z
    .string()
    .default('')
    .refine((v) => list(v).every(isDnsServer), 'each entry is an IP address, optionally with :port ([v6]:port)')
    .describe(
      "Comma-separated DNS servers for outbound names: `10.0.0.2`, `10.0.0.2:5353`, `[fd00::53]:53`. Empty: the system's (`/etc/resolv.conf`).",
    ),
  // Isolation between tenants on the worker's outbound paths (src/outbound/isolation).
  OUTBOUND_MAX_PER_TENANT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(4)
    .describe(
      "Webhook calls (and, separately, key checks) of one tenant that the workers make at once, across all worker processes. A tenant's further jobs wait out of the worker (see [Isolation between tenants](workers-and-queues.md#isolation-between-tenants)). Keep it below `WORKER_CONCURRENCY`, or one tenant can still fill a worker.",
    ),
  OUTBOUND_MAX_PER_DESTINATION: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(4)
    .describe('Calls to one `host:port` at once, all tenants together, per path; one tenant may hold at most half of them (rounded up).'),
  // Key checks (provider hosts are platform-pinned): unset, derived from WORKER_CONCURRENCY (slots.ts providerPoolDefaults).
  OUTBOUND_PROVIDER_MAX_PER_TENANT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe(
      "Key checks of one tenant at once, across all worker processes. Unset: half of `WORKER_CONCURRENCY`, never below `OUTBOUND_MAX_PER_TENANT`. Provider hosts are platform-pinned, so this is a fairness bound (one tenant's bulk import leaves slots to others), not a hang guard.",
    ),
  OUTBOUND_PROVIDER_MAX_PER_DESTINATION: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe(
      'Key checks to one provider `host:port` at once, all tenants together. Unset: three quarters of `WORKER_CONCURRENCY`, never below `OUTBOUND_MAX_PER_DESTINATION`.',
    ),
  OUTBOUND_BACKOFF_AFTER: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(3)
    .describe('Calls of a tenant to one `host:port` that got no answer in a row before that destination is backed off for the tenant.'),
  OUTBOUND_BACKOFF_BASE_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(3_600_000)
    .default(10_000)
    .describe('The first backoff window; each probe that gets no answer doubles it.'),
  OUTBOUND_BACKOFF_MAX_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(86_400_000)
    .default(300_000)
    .describe('The longest backoff window (at least `OUTBOUND_BACKOFF_BASE_MS`).'),
  OUTBOUND_DEFER_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(60_000)
    // 5 s, not 0.5 s: a put-back job is woken as soon as a slot frees (the release promotes the oldest
    // waiter), so this timer only covers a lost wake-up (a crashed holder's lease lapsing, a woken job
    // that ended without calling out). Short timers made one tenant's bulk validation crawl: every
    // early return costs a fetch, a read and a refusal. Measured in docs/performance.md (validation).
    .default(5000)
    .describe(
      'The fallback wait of a job put back for want of an outbound slot, doubling with each put-back of the job up to 8 times this, jittered. A freed slot wakes the oldest waiting job at once; this timer only covers a lost wake-up. Also the jitter added after a backoff window.',
    ),
  CACHE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(60)
    .describe(
      "Longest life of an API process's in-memory token, gateway-ETag and provider entries (`0` turns the caches off). Entries are dropped much sooner, on PostgreSQL change notifications: see [Read caches](architecture.md#read-caches-and-how-they-stay-right).",
    ),
  CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(1_000_000).default(10_000).describe('Entries per cache; the oldest goes first.'),
  SECURITY_EVENT_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(300)
    .describe('A security event of one kind from one place (a token, a client address, a job) is recorded at most once per window.'),
  SECURITY_AUTH_FAILURE_THRESHOLD: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .describe('Failed authentications from one client address within the window before a `REPEATED_AUTH_FAILURES` event.'),
  // Key checks (testProviderKey, createCredential, rotateCredential, revalidateCredential): never unlimited.
  KEY_CHECK_TENANT_LIMIT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(60)
    .describe(
      'Key checks per tenant per `KEY_CHECK_PERIOD_SECONDS`: `testProviderKey`, `createCredential`, `rotateCredential`, `revalidateCredential` together. See [Key checks: limits and cache](security.md#key-checks-limits-and-cache).',
    ),
  KEY_CHECK_TOKEN_LIMIT: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .describe('The same, per API token (the platform admin token has one bucket too).'),
  KEY_CHECK_PERIOD_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .default(60)
    .describe('The period of both limits; the buckets refill evenly over it.'),
  KEY_CHECK_REPEAT_THRESHOLD: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(20)
    .describe(
      'Refusals of one token within `KEY_CHECK_REPEAT_WINDOW_SECONDS` that make a security event (a `warn` log line and the `onRepeatedLimit` hook).',
    ),
  KEY_CHECK_REPEAT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600).describe('Window of that count.'),
  KEY_CHECKS_PER_REQUEST: z.coerce
    .number()
    .int()
    .min(1)
    .max(10)
    .default(1)
    .describe('Key-check fields one GraphQL document may hold, aliases and fragments included; more is a `400` with code `TOO_MANY_KEY_CHECKS`.'),
  KEY_TEST_CACHE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600)
    .default(60)
    .describe("How long a tenant's `testProviderKey` answer for the same key is reused without asking the provider (`0` turns the cache off)."),
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
   * allowLoopback (OUTBOUND_ALLOW_LOOPBACK, logged at start). See docs/security.md "Outbound requests and SSRF".
   */
  outbound: { allowDestinations: string[]; allowAddresses: string[]; allowLoopback: boolean; dnsTimeoutMs: number; dnsServers: string[] };
  /**
   * Isolation between tenants on the webhook and key-check paths (docs/workers-and-queues.md "Isolation between
   * tenants"): concurrent calls per tenant and per host:port, and the backoff of a destination that
   * keeps not answering (after `backoffAfter` in a row: base, doubling, up to max).
   */
  outboundIsolation: IsolationSettings;
  /** Security events: one per kind and place per window; failed authentications per source before one is recorded. */
  security: { windowMs: number; authFailureThreshold: number };
  graphql: {
    maxDepth: number;
    maxComplexity: number;
    introspection: boolean;
    /** Apollo's landing page (scripts from Apollo's CDN) at GET /graphql. */
    landingPage: boolean;
    pageSizeMax: number;
    limits: Readonly<RequestLimits>;
  };
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

/**
 * Tracing (src/tracing): on only when OTEL_EXPORTER_OTLP_ENDPOINT is set. Read before anything
 * else at process start (instrumentation must wrap pg, ioredis, graphql and fastify before they
 * load), so it never touches secrets. The exporter also honours OTEL_EXPORTER_OTLP_HEADERS and
 * OTEL_EXPORTER_OTLP_TIMEOUT itself (an authorization header for a hosted collector goes there).
 */
export interface TracingSettings {
  /** The OTLP/HTTP (protobuf) endpoint; traces go to `<endpoint>/v1/traces`. null: tracing off. */
  endpoint: string | null;
  serviceName: string | null;
  /** The share of new traces kept (a parent's decision is always followed). */
  sampleRatio: number;
}

export function tracingSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TracingSettings {
  const parsed = z
    .object({
      OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
      OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),
      OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
    })
    .safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join('; ')}`);
  }
  const e = parsed.data;
  return { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? null, serviceName: e.OTEL_SERVICE_NAME ?? null, sampleRatio: e.OTEL_TRACES_SAMPLER_ARG };
}

/** For the image's HEALTHCHECK (src/cli/healthcheck.ts): the ports the API and the worker answer /healthz on. */
export function probePortsFromEnv(env: NodeJS.ProcessEnv = process.env): { api: number; worker: number } {
  const parsed = Env.pick({ PORT: true, WORKER_METRICS_PORT: true }).safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join('; ')}`);
  }
  return { api: parsed.data.PORT, worker: parsed.data.WORKER_METRICS_PORT };
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

/** What `npm start` reads for the embedded PostgreSQL (rendered into docs/configuration.md with Env). */
export const EmbeddedPostgresEnv = z.object({
  NODE_ENV: Env.shape.NODE_ENV,
  KEYPLANE_EMBEDDED_PG_DIR: z
    .string()
    .min(1)
    .default('.keyplane/postgres')
    .describe('Data folder of the embedded PostgreSQL (`npm start` without `DATABASE_URL`); git-ignored, kept across restarts.'),
  KEYPLANE_EMBEDDED_PG_PORT: z.coerce.number().int().min(1024).max(65535).default(54329).describe('Its loopback port.'),
});

export function embeddedPostgresSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): EmbeddedPostgresSettings {
  const parsed = EmbeddedPostgresEnv.safeParse(env);
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

/** The provider pool's limits: as set, or derived from the worker's concurrency and the webhook pool's. */
function providerPool(e: z.infer<typeof Env>): Pick<IsolationSettings, 'providerMaxPerTenant' | 'providerMaxPerDestination'> {
  const derived = providerPoolDefaults(e.WORKER_CONCURRENCY, {
    maxPerTenant: e.OUTBOUND_MAX_PER_TENANT,
    maxPerDestination: e.OUTBOUND_MAX_PER_DESTINATION,
  });
  return {
    providerMaxPerTenant: e.OUTBOUND_PROVIDER_MAX_PER_TENANT ?? derived.providerMaxPerTenant,
    providerMaxPerDestination: e.OUTBOUND_PROVIDER_MAX_PER_DESTINATION ?? derived.providerMaxPerDestination,
  };
}

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
    const notice = e.KEYPLANE_DEV_SECRETS_NOTICE === 'true' ? warn : () => undefined;
    secrets = { ...e, ...localSecrets(e.KEYPLANE_LOCAL_SECRETS_FILE, missing, devSecret, notice) };
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
      ...providerPool(e),
      backoffAfter: e.OUTBOUND_BACKOFF_AFTER,
      backoffBaseMs: e.OUTBOUND_BACKOFF_BASE_MS,
      backoffMaxMs: e.OUTBOUND_BACKOFF_MAX_MS,
      deferMs: e.OUTBOUND_DEFER_MS,
    }),
    graphql: Object.freeze({
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxComplexity: e.GRAPHQL_MAX_COMPLEXITY,
      introspection: e.GRAPHQL_INTROSPECTION ? e.GRAPHQL_INTROSPECTION === 'true' : e.NODE_ENV !== 'production',
      landingPage: e.GRAPHQL_LANDING_PAGE ? e.GRAPHQL_LANDING_PAGE === 'true' : e.NODE_ENV !== 'production',
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
