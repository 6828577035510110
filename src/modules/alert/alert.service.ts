import type { DataSource } from 'typeorm';
import { keysetPage, pageOf, type Page, type PageArgs } from '../../db/pagination';
import { BadRequestError, DomainError, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { Actor, AuditActor } from '../auth/actor';
import { isUuid } from '../auth/tenant-scope';
import type { CredentialEntity } from '../credential/credential.entity';
import type { TenantEntity } from '../tenant/tenant.entity';
import { KeyReuseAlertEntity, type AlertSeverity, type AlertStatus } from './alert.entity';
import { humanTransition, maxSeverity, type HumanStatus } from './key-reuse.rules';

/** An alert with its own credential loaded; status is the effective one (see effective()). */
export type AlertView = KeyReuseAlertEntity & { credential: CredentialEntity };

export interface GroupMemberView {
  tenant: TenantEntity;
  credential: CredentialEntity;
  severity: AlertSeverity;
  alerts: AlertView[];
}
export interface GroupView {
  id: string;
  severity: AlertSeverity;
  members: GroupMemberView[];
}

const WHAT = 'Key reuse alert';
const GROUP_CURSOR = 'g1:';
// Domain-separated hash of the fingerprint: stable and opaque, and not the fingerprint itself.
const GROUP_ID_SQL = `encode(sha256(convert_to('keyplane-key-reuse-group:', 'UTF8') || a.fingerprint), 'hex')`;

/**
 * A revoked credential holds no key any more: its alerts read as RESOLVED at once, before a
 * fingerprint job or rescan writes that down.
 */
function effective(alert: AlertView): AlertView {
  if (alert.credential.revokedAt && alert.status !== 'RESOLVED') alert.status = 'RESOLVED';
  return alert;
}

export class AlertService {
  constructor(private readonly db: DataSource) {}

  async list(tenantId: string, filter: { status?: AlertStatus | null }, args: PageArgs): Promise<Page<AlertView>> {
    const qb = this.db
      .getRepository(KeyReuseAlertEntity)
      .createQueryBuilder('a')
      .innerJoinAndSelect('a.credential', 'c', 'c.tenantId = a.tenantId')
      .where('a.tenantId = :tenantId', { tenantId });
    if (filter.status) {
      qb.andWhere(`(CASE WHEN c.revokedAt IS NOT NULL THEN 'RESOLVED' ELSE a.status END) = :status`, { status: filter.status });
    }
    const page = await keysetPage(qb, 'key_reuse_alerts', tenantId, args);
    return { ...page, nodes: (page.nodes as AlertView[]).map(effective) };
  }

  /** The tenant an alert mutation acts in: a tenant token's own; for a platform admin, the alert's. */
  async tenantOf(actor: Actor, id: string, field: string[] | null = null): Promise<string> {
    if (actor.type === 'API_TOKEN') return actor.tenantId;
    const rows: { tenant_id: string }[] = isUuid(id) ? await this.db.query('SELECT tenant_id FROM key_reuse_alerts WHERE id = $1', [id]) : [];
    if (rows.length === 0) throw new NotFoundError(WHAT, field);
    return rows[0].tenant_id;
  }

  /** Acknowledge or dismiss, audited. Repeating the same decision changes nothing and writes nothing. */
  async setStatus(tenantId: string, actor: AuditActor, id: string, target: HumanStatus): Promise<AlertView> {
    const field = ['input', 'id'];
    return this.db.transaction(async (tx) => {
      const locked = isUuid(id) ? await tx.query('SELECT id FROM key_reuse_alerts WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]) : [];
      if (locked.length === 0) throw new NotFoundError(WHAT, field);
      const alert = effective(
        (await tx.findOneOrFail(KeyReuseAlertEntity, { where: { tenantId, id }, relations: { credential: true } })) as AlertView,
      );
      const step = humanTransition(alert.status, target);
      if (step === 'RESOLVED') {
        throw new DomainError('ALERT_RESOLVED', 'The alert is resolved: this credential no longer holds the shared key.', field);
      }
      if (step === 'NOOP') return alert;
      await tx.query(
        `UPDATE key_reuse_alerts SET status = $3, status_changed_at = now(), status_changed_by = $4, updated_at = now()
          WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id, target, actor.id ?? actor.type],
      );
      await auditInTx(tx, actor, {
        tenantId,
        action: target === 'ACKNOWLEDGED' ? 'KEY_REUSE_ALERT_ACKNOWLEDGED' : 'KEY_REUSE_ALERT_DISMISSED',
        targetType: 'KEY_REUSE_ALERT',
        targetId: id,
        details: {
          credentialId: alert.credentialId,
          redactedKey: alert.credential.redactedKey,
          scope: alert.scope,
          severity: alert.severity,
          previousStatus: alert.status,
        },
      });
      return (await tx.findOneOrFail(KeyReuseAlertEntity, { where: { tenantId, id }, relations: { credential: true } })) as AlertView;
    });
  }

  /** Platform admins: credentials sharing a key, one group per key, members with unresolved alerts. */
  async groups(args: PageArgs): Promise<Page<GroupView>> {
    const after = args.after ? decodeGroupCursor(args.after) : null;
    const keys: { group_id: string; fp: string }[] = await this.db.query(
      `SELECT g.group_id, encode(g.fingerprint, 'hex') AS fp FROM (
         SELECT DISTINCT a.fingerprint, ${GROUP_ID_SQL} AS group_id
           FROM key_reuse_alerts a JOIN credentials c ON c.id = a.credential_id
          WHERE a.status <> 'RESOLVED' AND c.revoked_at IS NULL) g
        WHERE ($1::text IS NULL OR g.group_id > $1) ORDER BY g.group_id LIMIT $2`,
      [after, args.first + 1],
    );
    const page = pageOf(keys, args.first, (k) => encodeGroupCursor(k.group_id));
    const alerts = page.nodes.length
      ? ((await this.db
          .getRepository(KeyReuseAlertEntity)
          .createQueryBuilder('a')
          .innerJoinAndSelect('a.credential', 'c', 'c.tenantId = a.tenantId')
          .innerJoinAndSelect('a.tenant', 't')
          .where(`encode(a.fingerprint, 'hex') IN (:...fps)`, { fps: page.nodes.map((k) => k.fp) })
          .andWhere(`a.status <> 'RESOLVED'`)
          .andWhere('c.revokedAt IS NULL')
          .orderBy('c.createdAt', 'ASC')
          .addOrderBy('a.scope', 'ASC')
          .getMany()) as (AlertView & { tenant: TenantEntity })[])
      : [];
    const nodes = page.nodes.map(({ group_id, fp }) => {
      const mine = alerts.filter((a) => a.fingerprint.toString('hex') === fp);
      const members = new Map<string, GroupMemberView>();
      for (const a of mine) {
        const m = members.get(a.credentialId) ?? { tenant: a.tenant, credential: a.credential, severity: 'INFO', alerts: [] };
        m.alerts.push(a);
        m.severity = maxSeverity(m.alerts.map((x) => x.severity));
        members.set(a.credentialId, m);
      }
      const list = [...members.values()];
      return { id: group_id, severity: maxSeverity(list.map((m) => m.severity)), members: list };
    });
    return { ...page, nodes };
  }
}

export function encodeGroupCursor(groupId: string): string {
  return Buffer.from(GROUP_CURSOR + groupId, 'utf8').toString('base64url');
}

function decodeGroupCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = raw.startsWith(GROUP_CURSOR) ? raw.slice(GROUP_CURSOR.length) : '';
  if (!/^[0-9a-f]{64}$/.test(id)) throw new BadRequestError('The cursor is not valid.');
  return id;
}
