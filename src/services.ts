import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { auditSigner, fingerprinterFor, masterKeyring, type Config } from './config';
import { SecretBox } from './crypto';
import { Invalidations } from './db/invalidations';
import { ReplicaRouter } from './db/replicas';
import { createLiveEvents } from './events';
import { outboundFor, outboundPolicyFor, watchOutbound } from './outbound';
import { AlertService } from './modules/alert/alert.service';
import { CheckAlertService } from './modules/alert/check-alert.service';
import { KeyRescanService } from './modules/alert/key-rescan.service';
import { RescanStatusReader } from './modules/alert/rescan-status';
import { AuditService } from './modules/audit/audit.service';
import { AuditIntegrityService } from './modules/audit/audit-integrity.service';
import { AuthService } from './modules/auth/auth.service';
import { TenantScope } from './modules/auth/tenant-scope';
import { CredentialService } from './modules/credential/credential.service';
import { IdempotencyStore } from './modules/idempotency/idempotency.service';
import { GatewayAttachmentService } from './modules/gateway/gateway-attachment.service';
import { GatewayService } from './modules/gateway/gateway.service';
import { GatewayConfigService } from './modules/gateway/gateway-config.service';
import type { SkippedCredential } from './modules/gateway/gateway-config';
import { KeyCustodyService } from './modules/key-custody/key-custody.service';
import { markCredentialUnreadable } from './modules/key-custody/unreadable';
import { LiveService } from './modules/live/live.service';
import { PlatformKeyService } from './modules/platform-key/platform-key.service';
import { HostConfirmationService } from './modules/provider/host-confirmation.service';
import { KeyTestService } from './modules/provider/key-test.service';
import { KeyCheckLimiter } from './modules/key-check/key-check-limiter';
import { createKeyCheckStore } from './modules/key-check/key-check-store';
import { KeyTestCache } from './modules/key-check/key-test-cache';
import { ProviderService } from './modules/provider/provider.service';
import { ReminderService } from './modules/reminder/reminder.service';
import { SecurityEvents } from './modules/security/security-events';
import { RevertService } from './modules/tenant/revert.service';
import { TenantService } from './modules/tenant/tenant.service';
import { TokenService } from './modules/token/token.service';
import { NodeService } from './modules/node/node.service';
import { WebhookService } from './modules/webhook/webhook.service';
import { createQueueBackend } from './queue/backend';
import { WebhookEndpointService } from './modules/webhook/webhook-endpoint.service';
import { DeliveryJobs, WebhookQueueViews } from './modules/webhook/delivery-jobs';
import { WebhookEndpointAlertService } from './modules/alert/webhook-endpoint-alert.service';
import { PepperRekeyService } from './modules/key-custody/pepper-rekey.service';
import { SigningSecretService } from './modules/webhook/signing-secret.service';

/** Wires the services once at start-up; each receives only what it uses. */
export function createServices(config: Readonly<Config>, db: DataSource, log: Logger, sealer?: SecretBox) {
  // app.ts passes the box it verified at start (its HSM connection included).
  const box = sealer ?? new SecretBox(masterKeyring(config));
  const fingerprinter = fingerprinterFor(config);
  // Caches below serve only while this listens (app.ts starts and closes it).
  const invalidations = new Invalidations(config.databaseUrl, log);
  // DATABASE_REPLICA_URLS: read-only queries may read from a replica fresh enough for the caller
  // (src/db/replicas.ts). It hears writes through the invalidation listener, and routes nothing
  // while that listener is down. app.ts attaches it to the DataSource, starts and closes it.
  const replicas = config.databaseReplicas
    ? new ReplicaRouter(config.databaseUrl, config.databaseReplicas, log, config.databasePoolSize, () => invalidations.listening)
    : null;
  if (replicas) {
    invalidations.onInvalidate((scope) => replicas.noteWrite(scope));
    invalidations.onWrite((key) => replicas.noteWrite(key));
  }
  const urlPolicy = outboundPolicyFor(config);
  const outbound = outboundFor(config);
  const providers = new ProviderService(db, urlPolicy, invalidations, config.cache);
  const security = new SecurityEvents(db, log, config.security);
  // The queue backend (QUEUE_BACKEND): queue views for ops and rescan status; app.ts closes it.
  const queueBackend = createQueueBackend(config, log);
  // Key checks: shared limits and the test cache on the backend's engine (app.ts waits for it and closes it).
  const keyCheckStore = createKeyCheckStore(config, db);
  const keyChecks = new KeyCheckLimiter({
    store: keyCheckStore,
    prefix: config.queue.prefix,
    limits: config.keyChecks,
    log,
    // A token that keeps hitting the limit: someone is using Keyplane as a key checker.
    onRepeatedLimit: (tenantId, tokenId, kind) =>
      security.record({
        kind: 'RATE_LIMIT_REPEATED',
        tenantId,
        targetType: 'api_token',
        targetId: tokenId,
        details: { check: kind },
        throttleKey: `${tenantId}:${tokenId}`,
      }),
  });
  const scope = new TenantScope(db);
  // Live events for subscriptions: connects on the first subscriber; app.close() ends the streams.
  const events = createLiveEvents(config, log);
  // Answers of key-material mutations, per tenant and idempotency key (README: Idempotency keys).
  const idempotency = new IdempotencyStore(db, fingerprinter);
  const maintenanceReader = new RescanStatusReader(queueBackend, (e) =>
    log.warn({ err: { name: e.name, message: e.message } }, 'maintenance queue status: queue error'),
  );
  // Read-only views of the webhook queues: a delivery whose job was lost can be replayed. app.close() closes them.
  const webhookQueues = new WebhookQueueViews(queueBackend, (e) =>
    log.warn({ err: { name: e.name, message: e.message } }, 'webhook queue views: queue error'),
  );
  const keyTestCache = new KeyTestCache({ store: keyCheckStore, prefix: config.queue.prefix, ttlMs: config.keyChecks.cacheTtlMs, fingerprinter });
  return {
    security,
    box,
    fingerprinter,
    invalidations,
    replicas,
    scope,
    events,
    live: new LiveService(scope, events, db),
    auth: new AuthService(
      db,
      config.adminToken,
      (error) => log.warn({ err: error }, 'could not record token use'),
      invalidations,
      config.cache,
      (token) => security.revokedTokenUsed(token),
    ),
    // Failed key checks, for the API's logs and /metrics (tenants only see UNREACHABLE).
    outboundFailures: watchOutbound(outbound, log, (event) => security.outboundRefused(event)),
    tenants: new TenantService(db, box, urlPolicy),
    revert: new RevertService(db),
    tokens: new TokenService(db),
    nodes: new NodeService(db),
    providers,
    hostConfirmations: new HostConfirmationService(db),
    queueBackend,
    keyCheckStore,
    keyChecks,
    keyTest: new KeyTestService(db, providers, config.providerTimeoutMs, outbound, { limiter: keyChecks, cache: keyTestCache }, fingerprinter),
    idempotency,
    credentials: new CredentialService(db, { box, fingerprinter }, providers, keyChecks, idempotency),
    gateways: new GatewayService(db, box, urlPolicy, idempotency),
    // Webhook signing-secret rotation with an overlap (issue 15 item 5).
    signingSecrets: new SigningSecretService(db, box),
    gatewayAttachments: new GatewayAttachmentService(db),
    gatewayConfig: new GatewayConfigService(db, box, invalidations, config.cache, (details, message) => {
      log.warn(details, message);
      // Keys that no longer decrypt: tampered, moved, or sealed under a KEK version this process lacks.
      const gatewayId = String(details.gatewayId);
      security.record({
        kind: 'DECRYPT_FAILED',
        tenantId: details.tenantId as string,
        targetType: 'gateway',
        targetId: gatewayId,
        throttleKey: `gateway:${gatewayId}`,
      });
      // Tenant keys that do not open become visibly UNREADABLE (key custody, issue 15 item 6).
      for (const s of (details.unreadable ?? []) as SkippedCredential[]) {
        if (s.source !== 'TENANT') continue;
        markCredentialUnreadable(
          { db, security, publishChanged: (tenantId, credentialId) => events.publish('CREDENTIAL_CHANGED', { tenantId, credentialId }) },
          details.tenantId as string,
          s.credentialId,
          null,
          'gateway-config',
        ).catch((error: Error) => log.warn({ err: { name: error.name, message: error.message } }, 'could not mark credential unreadable'));
      }
    }),
    platformKeys: new PlatformKeyService(db, box, providers, fingerprinter),
    audit: new AuditService(db),
    // Audit chain checks and checkpoints; the signing keys stay in this object (docs/audit.md).
    auditIntegrity: new AuditIntegrityService(db, auditSigner(config)),
    alerts: new AlertService(db),
    checkAlerts: new CheckAlertService(db),
    // Read-only view of the maintenance queue (rescan progress); app.close() closes it.
    keyRescans: new KeyRescanService(db, maintenanceReader),
    // Master key custody (rewrap runs live in PostgreSQL; the reader only tells a lost job from a live one).
    keyCustody: new KeyCustodyService(db, box, maintenanceReader, fingerprinter),
    // Fingerprint pepper rotation: recompute stored fingerprints under the current pepper (issue 15 item 4).
    pepperRekeys: new PepperRekeyService(db, maintenanceReader, fingerprinter.currentVersion),
    reminders: new ReminderService(db),
    webhooks: new WebhookService(db, new DeliveryJobs(() => webhookQueues.get())),
    webhookQueues,
    webhookEndpoints: new WebhookEndpointService(db),
    endpointAlerts: new WebhookEndpointAlertService(db),
  };
}

export type Services = ReturnType<typeof createServices>;
