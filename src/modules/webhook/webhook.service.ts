import type { DataSource, EntityManager } from 'typeorm';
import type { Page, PageArgs } from '../../db/pagination';
import { keysetPage } from '../../db/pagination';
import { DomainError, NotFoundError, ServiceUnavailableError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { Actor, AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import { enqueueInTx } from '../outbox/outbox.writer';
import { inOutbox, type DeliveryJobs } from './delivery-jobs';
import { webhookData } from './webhook-messages';
import { WebhookAttemptEntity, WebhookDeliveryEntity, type DeliveryStatus } from './webhook.entity';
import type { WebhookAttempt, WebhookDelivery } from './webhook.type';

export interface DeliveryFilter {
  gatewayId?: string | null;
  status?: DeliveryStatus | null;
}

const NOT_FOUND = 'Webhook delivery';

/** Webhook deliveries of a tenant (dead letters included) and their replay. */
export class WebhookService {
  /** `jobs` tells a delivery still on its way from one whose job the queue store lost. */
  constructor(
    private readonly db: DataSource,
    private readonly jobs: Pick<DeliveryJobs, 'hasLiveJob'> | null = null,
  ) {}

  async list(tenantId: string, filter: DeliveryFilter, args: PageArgs): Promise<Page<WebhookDelivery>> {
    // Another tenant's gateway id and a random one both simply match nothing.
    if (filter.gatewayId != null && !isUuid(filter.gatewayId)) return { nodes: [], hasNextPage: false, endCursor: null };
    const qb = this.db.getRepository(WebhookDeliveryEntity).createQueryBuilder('d').where('d.tenantId = :tenantId', { tenantId });
    if (filter.gatewayId != null) {
      qb.andWhere("d.kind = 'GATEWAY_RELOAD' AND d.targetId = :gatewayId", { gatewayId: filter.gatewayId });
    }
    if (filter.status != null) qb.andWhere('d.status = :status', { status: filter.status });
    const page = await keysetPage(qb, 'webhook_deliveries', tenantId, args);
    return { ...page, nodes: await this.withAttempts(this.db.manager, tenantId, page.nodes) };
  }

  /**
   * Sends a dead letter again: PENDING, replay count + 1, a deliver-webhook job and an audit event,
   * in one transaction. DEAD deliveries, and PENDING or RETRYING ones no job will send any more
   * (the queue store lost it); one still on its way is not, and a delivered one was accepted (the
   * receiver can pull its config if it lost the message). The new replay count supersedes any
   * job of the earlier one that might still surface.
   */
  async replay(tenantId: string, actor: AuditActor, id: string): Promise<WebhookDelivery> {
    return this.db.transaction(async (tx) => {
      const found = isUuid(id) ? await tx.findOne(WebhookDeliveryEntity, { where: { tenantId, id }, lock: { mode: 'pessimistic_write' } }) : null;
      if (!found) throw new NotFoundError(NOT_FOUND, ['input', 'id']);
      if (found.status !== 'DEAD' && !(await this.jobless(tx, found))) {
        throw new DomainError('DELIVERY_NOT_DEAD', 'Only dead-lettered (DEAD) deliveries can be replayed.', ['input', 'id']);
      }
      const replay = found.replayCount + 1;
      await tx.update(WebhookDeliveryEntity, { tenantId, id }, { status: 'PENDING', replayCount: replay, deadAt: null });
      await enqueueInTx(tx, 'deliver-webhook', { tenantId, deliveryId: id, replay });
      await auditInTx(tx, actor, {
        tenantId,
        action: 'WEBHOOK_DELIVERY_REPLAYED',
        targetType: 'WEBHOOK_DELIVERY',
        targetId: id,
        details: { kind: found.kind, targetId: found.targetId, replay, lastErrorClass: found.lastErrorClass },
      });
      const [delivery] = await this.withAttempts(tx, tenantId, [await tx.findOneByOrFail(WebhookDeliveryEntity, { tenantId, id })]);
      return delivery;
    });
  }

  /** PENDING or RETRYING, and no job will send it: its job was lost with the queue store's data. */
  private async jobless(tx: EntityManager, d: WebhookDeliveryEntity): Promise<boolean> {
    if ((d.status !== 'PENDING' && d.status !== 'RETRYING') || !this.jobs) return false;
    const open = { id: d.id, kind: d.kind, targetId: d.targetId, replayCount: d.replayCount };
    if (await inOutbox(tx, open)) return false;
    try {
      return !(await this.jobs.hasLiveJob(open));
    } catch {
      // Cannot tell while the queue store is unreachable; replaying then could send it twice.
      throw new ServiceUnavailableError('The job queue is unreachable, so whether this delivery is still on its way is unknown. Try again later.');
    }
  }

  /**
   * The tenant a delivery id is looked up in: a tenant token's own; for the platform admin, the
   * delivery's. Unknown ids are NOT_FOUND, worded like any other.
   */
  async tenantOf(actor: Actor, id: string, field: string[] | null = null): Promise<string> {
    if (actor.type === 'API_TOKEN') return actor.tenantId;
    const rows: { tenant_id: string }[] = isUuid(id) ? await this.db.query('SELECT tenant_id FROM webhook_deliveries WHERE id = $1', [id]) : [];
    if (rows.length === 0) throw new NotFoundError(NOT_FOUND, field);
    return rows[0].tenant_id;
  }

  /** One query for the attempts of a whole page, instead of one per delivery. */
  private async withAttempts(m: EntityManager, tenantId: string, deliveries: WebhookDeliveryEntity[]): Promise<WebhookDelivery[]> {
    const ids = deliveries.map((d) => d.id);
    const attempts = ids.length
      ? await m
          .getRepository(WebhookAttemptEntity)
          .createQueryBuilder('a')
          .where('a.tenantId = :tenantId AND a.deliveryId = ANY(:ids)', { tenantId, ids })
          .orderBy('a.attempt')
          .addOrderBy('a.createdAt')
          .getMany()
      : [];
    const byDelivery = new Map<string, WebhookAttempt[]>();
    for (const a of attempts) {
      const list = byDelivery.get(a.deliveryId) ?? [];
      list.push({ attempt: a.attempt, statusCode: a.statusCode, latencyMs: a.latencyMs, errorClass: a.errorClass, createdAt: a.createdAt });
      byDelivery.set(a.deliveryId, list);
    }
    return deliveries.map((d) => toDelivery(d, byDelivery.get(d.id) ?? []));
  }
}

function toDelivery(d: WebhookDeliveryEntity, attempts: WebhookAttempt[]): WebhookDelivery {
  const p = d.payload ?? {};
  const data = webhookData(d.payload);
  const reload = d.kind === 'GATEWAY_RELOAD';
  return {
    id: d.id,
    tenantId: d.tenantId,
    kind: d.kind,
    targetId: d.targetId,
    gatewayId: reload ? d.targetId : null,
    eventType: typeof p.type === 'string' ? p.type : d.kind.toLowerCase(),
    configVersion: reload && typeof data.configVersion === 'number' ? data.configVersion : null,
    reason: reload && typeof data.reason === 'string' ? data.reason : null,
    status: d.status,
    attemptCount: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastErrorClass: d.lastErrorClass,
    replayCount: d.replayCount,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    deliveredAt: d.deliveredAt,
    deadAt: d.deadAt,
    attempts,
  };
}
