import { KeyReuseAlertEntity } from '../modules/alert/alert.entity';
import { CredentialCheckAlertEntity } from '../modules/alert/check-alert.entity';
import { WebhookEndpointAlertEntity } from '../modules/alert/webhook-endpoint-alert.entity';
import { AuditEventEntity } from '../modules/audit/audit.entity';
import { PlatformKeyEntity } from '../modules/platform-key/platform-key.entity';
import { RotationReminderEntity } from '../modules/reminder/reminder.entity';
import { WebhookAttemptEntity, WebhookDeliveryEntity } from '../modules/webhook/webhook.entity';
import { CredentialEntity, CredentialVersionEntity } from '../modules/credential/credential.entity';
import { GatewayCredentialEntity, GatewayEntity, GatewayProviderModeEntity } from '../modules/gateway/gateway.entity';
import { OutboxEntity } from '../modules/outbox/outbox.entity';
import { IdempotencyKeyEntity } from '../modules/idempotency/idempotency.entity';
import { HostConfirmationEntity } from '../modules/provider/host-confirmation.entity';
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
  GatewayProviderModeEntity,
  KeyReuseAlertEntity,
  RotationReminderEntity,
  WebhookDeliveryEntity,
  WebhookAttemptEntity,
  PlatformKeyEntity,
  HostConfirmationEntity,
  CredentialCheckAlertEntity,
  IdempotencyKeyEntity,
  WebhookEndpointAlertEntity,
];
