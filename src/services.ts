import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { Config } from './config';
import { Fingerprinter, parseKeyring, SecretBox } from './crypto';
import { AuditService } from './modules/audit/audit.service';
import { AuthService } from './modules/auth/auth.service';
import { TenantScope } from './modules/auth/tenant-scope';
import { CredentialService } from './modules/credential/credential.service';
import { GatewayService } from './modules/gateway/gateway.service';
import { KeyTestService } from './modules/provider/key-test.service';
import { ProviderService } from './modules/provider/provider.service';
import { RevertService } from './modules/tenant/revert.service';
import { TenantService } from './modules/tenant/tenant.service';
import { TokenService } from './modules/token/token.service';

/** Wires the services once at start-up; each receives only what it uses. */
export function createServices(config: Readonly<Config>, db: DataSource, log: Logger) {
  const box = new SecretBox(parseKeyring(config.masterKeys));
  const fingerprinter = new Fingerprinter(Buffer.from(config.fingerprintKey, 'utf8'));
  const providers = new ProviderService(db);
  return {
    box,
    fingerprinter,
    scope: new TenantScope(db),
    auth: new AuthService(db, config.adminToken, (error) => log.warn({ err: error }, 'could not record token use')),
    tenants: new TenantService(db),
    revert: new RevertService(db),
    tokens: new TokenService(db),
    providers,
    keyTest: new KeyTestService(db, providers, config.providerTimeoutMs),
    credentials: new CredentialService(db, { box, fingerprinter }, providers),
    gateways: new GatewayService(db, box),
    audit: new AuditService(db),
  };
}

export type Services = ReturnType<typeof createServices>;
