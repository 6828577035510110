import type { DataSource } from 'typeorm';
import { generateToken, hashToken, redactToken } from '../../crypto';
import { keysetPage, type Page, type PageArgs } from '../../db/pagination';
import { collect, DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { nameRule } from '../common/rules';
import { ApiTokenEntity, type TenantRole } from './token.entity';

export interface CreateApiToken {
  name: string;
  role: TenantRole;
}

export class TokenService {
  constructor(private readonly db: DataSource) {}

  list(tenantId: string, includeRevoked: boolean, args: PageArgs): Promise<Page<ApiTokenEntity>> {
    const qb = this.db.getRepository(ApiTokenEntity).createQueryBuilder('t').where('t.tenantId = :tenantId', { tenantId });
    if (!includeRevoked) qb.andWhere('t.revokedAt IS NULL');
    return keysetPage(qb, 'api_tokens', tenantId, args);
  }

  /** One token's metadata, in its tenant; NOT_FOUND otherwise. */
  async get(tenantId: string, id: string): Promise<ApiTokenEntity> {
    const found = isUuid(id) ? await this.db.getRepository(ApiTokenEntity).findOneBy({ tenantId, id }) : null;
    if (!found) throw new NotFoundError('API token');
    return found;
  }

  /** The plaintext token is returned once; only its SHA-256 is stored. */
  async create(tenantId: string, actor: AuditActor, input: CreateApiToken): Promise<{ apiToken: ApiTokenEntity; token: string }> {
    collect([nameRule(input.name, ['input', 'name'])]);
    const token = generateToken('kp');
    return this.db.transaction(async (tx) => {
      const apiToken = await tx.save(
        tx.create(ApiTokenEntity, {
          tenantId,
          name: input.name.trim(),
          role: input.role,
          tokenHash: hashToken(token),
          redactedToken: redactToken(token),
        }),
      );
      await auditInTx(tx, actor, {
        tenantId,
        action: 'API_TOKEN_CREATED',
        targetType: 'API_TOKEN',
        targetId: apiToken.id,
        details: { name: apiToken.name, role: apiToken.role, redactedToken: apiToken.redactedToken },
      });
      return { apiToken, token };
    });
  }

  async revoke(tenantId: string, actor: AuditActor, id: string): Promise<ApiTokenEntity> {
    return this.db.transaction(async (tx) => {
      const apiToken = isUuid(id) ? await tx.findOne(ApiTokenEntity, { where: { tenantId, id }, lock: { mode: 'pessimistic_write' } }) : null;
      if (!apiToken) throw new NotFoundError('API token', ['input', 'id']);
      if (apiToken.revokedAt) throw new DomainError('ALREADY_REVOKED', 'The token is already revoked.', ['input', 'id']);
      apiToken.revokedAt = new Date();
      await tx.save(apiToken);
      await auditInTx(tx, actor, {
        tenantId,
        action: 'API_TOKEN_REVOKED',
        targetType: 'API_TOKEN',
        targetId: id,
        details: { name: apiToken.name, redactedToken: apiToken.redactedToken },
      });
      return apiToken;
    });
  }
}
