import type { DataSource } from 'typeorm';
import { collect, DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import { keyRefsInTx } from '../credential/credential-key-refs';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { LIMITS, rangeRule } from '../common/rules';
import { CredentialEntity } from '../credential/credential.entity';
import { bumpGatewaysInTx } from './gateway-reload';
import { GatewayCredentialEntity, GatewayEntity } from './gateway.entity';
import { lockGateway } from './gateway.service';

export interface Attach {
  gatewayId: string;
  credentialId: string;
  priority?: number | null;
}

/** Which tenant credentials a gateway uses, by provider and priority; every change reloads the gateway. */
export class GatewayAttachmentService {
  constructor(private readonly db: DataSource) {}

  /** Attachments of several gateways at once (for the per-request loader), ordered for serving. */
  list(tenantId: string, gatewayIds: readonly string[]): Promise<GatewayCredentialEntity[]> {
    return this.db
      .getRepository(GatewayCredentialEntity)
      .createQueryBuilder('a')
      .where('a.tenantId = :tenantId AND a.gatewayId = ANY(:ids)', { tenantId, ids: [...gatewayIds] })
      .orderBy('a.providerId')
      .addOrderBy('a.priority')
      .addOrderBy('a.createdAt')
      .getMany();
  }

  async attach(tenantId: string, actor: AuditActor, input: Attach): Promise<GatewayEntity> {
    collect([rangeRule(input.priority, ['input', 'priority'], LIMITS.priority)]);
    return this.db.transaction(async (tx) => {
      // The gateway row lock serializes attach calls, so the per-provider limit holds under concurrency.
      await lockGateway(tx, tenantId, input.gatewayId, ['input', 'gatewayId']);
      const credential = isUuid(input.credentialId) ? await tx.findOneBy(CredentialEntity, { tenantId, id: input.credentialId }) : null;
      if (!credential) throw new NotFoundError('Credential', ['input', 'credentialId']);
      if (credential.revokedAt) throw new DomainError('CREDENTIAL_REVOKED', 'The credential is revoked.', ['input', 'credentialId']);
      const siblings = await tx.find(GatewayCredentialEntity, {
        where: { tenantId, gatewayId: input.gatewayId, providerId: credential.providerId },
      });
      if (siblings.some((a) => a.credentialId === credential.id)) {
        throw new DomainError('ALREADY_ATTACHED', 'The credential is already attached to this gateway.', ['input', 'credentialId']);
      }
      if (siblings.length >= LIMITS.attachmentsPerProvider) {
        throw new DomainError('ATTACHMENT_LIMIT_REACHED', `A gateway can use at most ${LIMITS.attachmentsPerProvider} keys per provider.`, [
          'input',
          'credentialId',
        ]);
      }
      const priority = input.priority ?? (siblings.length ? Math.max(...siblings.map((a) => a.priority)) + 1 : 0);
      await tx.insert(GatewayCredentialEntity, {
        gatewayId: input.gatewayId,
        credentialId: credential.id,
        tenantId,
        providerId: credential.providerId,
        priority: Math.min(priority, LIMITS.priority.max),
      });
      await bumpGatewaysInTx(tx, tenantId, { gatewayId: input.gatewayId }, 'CREDENTIAL_ATTACHED');
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_CREDENTIAL_ATTACHED',
        targetType: 'GATEWAY',
        targetId: input.gatewayId,
        details: {
          credentialId: credential.id,
          redactedKey: credential.redactedKey,
          priority,
          keyRefs: await keyRefsInTx(tx, tenantId, credential.id, [credential.currentVersion ?? credential.latestVersion]),
        },
      });
      return tx.findOneByOrFail(GatewayEntity, { id: input.gatewayId });
    });
  }

  async detach(tenantId: string, actor: AuditActor, input: Omit<Attach, 'priority'>): Promise<GatewayEntity> {
    return this.db.transaction(async (tx) => {
      await lockGateway(tx, tenantId, input.gatewayId, ['input', 'gatewayId']);
      const removed = isUuid(input.credentialId)
        ? await tx.delete(GatewayCredentialEntity, { tenantId, gatewayId: input.gatewayId, credentialId: input.credentialId })
        : { affected: 0 };
      if (!removed.affected) {
        throw new DomainError('NOT_ATTACHED', 'The credential is not attached to this gateway.', ['input', 'credentialId']);
      }
      const [serving]: { version: number }[] = await tx.query(
        'SELECT COALESCE(current_version, latest_version) AS version FROM credentials WHERE tenant_id = $1 AND id = $2',
        [tenantId, input.credentialId],
      );
      await bumpGatewaysInTx(tx, tenantId, { gatewayId: input.gatewayId }, 'CREDENTIAL_DETACHED');
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_CREDENTIAL_DETACHED',
        targetType: 'GATEWAY',
        targetId: input.gatewayId,
        details: { credentialId: input.credentialId, keyRefs: serving ? await keyRefsInTx(tx, tenantId, input.credentialId, [serving.version]) : [] },
      });
      return tx.findOneByOrFail(GatewayEntity, { id: input.gatewayId });
    });
  }
}
