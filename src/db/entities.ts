import { AuditEventEntity } from '../modules/audit/audit.entity';
import { CredentialEntity, CredentialVersionEntity } from '../modules/credential/credential.entity';
import { GatewayCredentialEntity, GatewayEntity } from '../modules/gateway/gateway.entity';
import { OutboxEntity } from '../modules/outbox/outbox.entity';
import { ProviderEntity } from '../modules/provider/provider.entity';
import { TenantEntity } from '../modules/tenant/tenant.entity';
import { ApiTokenEntity } from '../modules/token/token.entity';

export const ENTITIES = [
  TenantEntity,
  ProviderEntity,
  CredentialEntity,
  CredentialVersionEntity,
  GatewayEntity,
  GatewayCredentialEntity,
  ApiTokenEntity,
  AuditEventEntity,
  OutboxEntity,
];
