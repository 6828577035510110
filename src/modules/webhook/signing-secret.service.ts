import type { DataSource, EntityManager } from 'typeorm';
import { generateToken, KeyVersionUnavailableError, SEALS, type SealContext, type Sealed, type SecretBox } from '../../crypto';
import { collect, NotFoundError } from '../../errors';
import { auditInTx } from '../audit/audit.writer';
import type { AuditActor } from '../auth/actor';
import { rangeRule } from '../common/rules';
import { lockGateway } from '../gateway/gateway.service';
import { GatewayEntity } from '../gateway/gateway.entity';
import { TenantEntity } from '../tenant/tenant.entity';

/** Overlap of a signing-secret rotation: both signatures on every delivery until it ends. */
export const OVERLAP_HOURS = { default: 24, min: 0, max: 7 * 24 } as const;

export interface RotatedGatewaySecret {
  gateway: GatewayEntity;
  signingSecret: string;
  /** When deliveries stop carrying the old secret's signature; null: it stopped now (overlap 0). */
  previousSecretExpiresAt: Date | null;
}

export interface RotatedTenantSecret {
  tenant: TenantEntity;
  notificationSigningSecret: string;
  previousSecretExpiresAt: Date | null;
}

/**
 * Rotates webhook signing secrets (a gateway's reload webhooks, a tenant's notifications) with an
 * overlap: the replaced secret is re-sealed under its own seal catalogue kind (so the KEK rewrap
 * covers it and it never opens as the current one) and signs alongside the new one until the overlap
 * ends; the daily sweep then wipes it, and the sender never uses it past its end in any case.
 * One previous secret at a time: rotating again during an overlap drops the oldest at once.
 * The new secret is returned once; audit rows (in the same transaction) hold times only.
 */
export class SigningSecretService {
  constructor(
    private readonly db: DataSource,
    private readonly box: SecretBox,
  ) {}

  async rotateGateway(tenantId: string, actor: AuditActor, gatewayId: string, overlapHours?: number | null): Promise<RotatedGatewaySecret> {
    const hours = overlapOf(overlapHours);
    const secret = generateToken('whsec');
    return this.db.transaction(async (tx) => {
      const g = await lockGateway(tx, tenantId, gatewayId, ['input', 'gatewayId']);
      const current = SEALS.gatewaySigning.context({ tenantId, objectId: g.id });
      const kept = await this.keep(
        hours,
        { kekVersion: g.signingKekVersion, wrappedKey: g.signingWrappedKey, ciphertext: g.signingCiphertext },
        current,
        () => SEALS.gatewaySigningPrevious.context({ tenantId, objectId: g.id }),
      );
      const sealed = await this.box.seal(secret, current);
      const [row]: { expires: Date | null }[] = await tx
        .query(
          `UPDATE gateways SET signing_kek_version = $3, signing_wrapped_key = $4, signing_ciphertext = $5,
                previous_signing_kek_version = $6, previous_signing_wrapped_key = $7, previous_signing_ciphertext = $8,
                previous_signing_expires_at = CASE WHEN $6::int IS NULL THEN NULL ELSE now() + make_interval(hours => $9::int) END,
                updated_at = now()
          WHERE tenant_id = $1 AND id = $2
          RETURNING previous_signing_expires_at AS expires`,
          [tenantId, g.id, ...sealedParams(sealed), ...sealedParams(kept), hours],
        )
        .then((r) => rowsOf<{ expires: Date | null }>(r));
      await auditInTx(tx, actor, {
        tenantId,
        action: 'GATEWAY_WEBHOOK_SECRET_ROTATED',
        targetType: 'GATEWAY',
        targetId: g.id,
        details: { overlapHours: kept ? hours : 0, previousSecretExpiresAt: row.expires?.toISOString() ?? null },
      });
      return { gateway: await tx.findOneByOrFail(GatewayEntity, { id: g.id }), signingSecret: secret, previousSecretExpiresAt: row.expires };
    });
  }

  async rotateTenant(tenantId: string, actor: AuditActor, overlapHours?: number | null): Promise<RotatedTenantSecret> {
    const hours = overlapOf(overlapHours);
    const secret = generateToken('whsec');
    return this.db.transaction(async (tx) => {
      const t = await lockTenant(tx, tenantId);
      const current = SEALS.tenantNotification.context({ tenantId, objectId: tenantId });
      const old =
        t.notificationKekVersion != null && t.notificationWrappedKey && t.notificationCiphertext
          ? { kekVersion: t.notificationKekVersion, wrappedKey: t.notificationWrappedKey, ciphertext: t.notificationCiphertext }
          : null;
      const kept = old && (await this.keep(hours, old, current, () => SEALS.tenantNotificationPrevious.context({ tenantId, objectId: tenantId })));
      const sealed = await this.box.seal(secret, current);
      const [row]: { expires: Date | null }[] = await tx
        .query(
          `UPDATE tenants SET notification_kek_version = $2, notification_wrapped_key = $3, notification_ciphertext = $4,
                previous_notification_kek_version = $5, previous_notification_wrapped_key = $6, previous_notification_ciphertext = $7,
                previous_notification_expires_at = CASE WHEN $5::int IS NULL THEN NULL ELSE now() + make_interval(hours => $8::int) END,
                updated_at = now()
          WHERE id = $1
          RETURNING previous_notification_expires_at AS expires`,
          [tenantId, ...sealedParams(sealed), ...sealedParams(kept), hours],
        )
        .then((r) => rowsOf<{ expires: Date | null }>(r));
      await auditInTx(tx, actor, {
        tenantId,
        action: 'TENANT_NOTIFICATION_SECRET_ROTATED',
        targetType: 'TENANT',
        targetId: tenantId,
        details: { overlapHours: kept ? hours : 0, previousSecretExpiresAt: row.expires?.toISOString() ?? null, firstSecret: !old },
      });
      return {
        tenant: await tx.findOneByOrFail(TenantEntity, { id: tenantId }),
        notificationSigningSecret: secret,
        previousSecretExpiresAt: row.expires,
      };
    });
  }

  /**
   * The replaced secret re-sealed for the overlap, or null: no overlap asked, or it does not open
   * (nothing could verify with it anyway). The plaintext lives only inside this call.
   */
  private async keep(hours: number, sealed: Sealed, current: SealContext, previous: () => SealContext): Promise<Sealed | null> {
    if (hours === 0) return null;
    let old: string;
    try {
      old = await this.box.open(sealed, current);
    } catch (error) {
      // An HSM that does not answer must not silently drop the overlap: the rotation fails, retryably.
      if (error instanceof KeyVersionUnavailableError) throw error;
      return null;
    }
    return this.box.seal(old, previous());
  }
}

function overlapOf(hours: number | null | undefined): number {
  collect([rangeRule(hours, ['input', 'overlapHours'], OVERLAP_HOURS)]);
  return hours ?? OVERLAP_HOURS.default;
}

const sealedParams = (s: Sealed | null) => [s?.kekVersion ?? null, s?.wrappedKey ?? null, s?.ciphertext ?? null];

/** UPDATE ... RETURNING through TypeORM answers [rows, count]. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

async function lockTenant(tx: EntityManager, tenantId: string): Promise<TenantEntity> {
  const tenant = await tx.findOne(TenantEntity, { where: { id: tenantId }, lock: { mode: 'pessimistic_write' } });
  if (!tenant) throw new NotFoundError('Tenant', ['input', 'tenantId']);
  return tenant;
}

/**
 * Ends what rotations left behind once due: previous signing secrets past their overlap (material
 * wiped) and rotated gateway keys past their grace. Run by the daily retire-previous sweep; the
 * sender and the config pull never use either past its end regardless.
 */
export async function wipeExpiredRotationLeftovers(db: Pick<DataSource, 'query'>): Promise<{ secrets: number; keys: number }> {
  const count = (r: unknown) => (Array.isArray(r) && typeof r[1] === 'number' ? r[1] : 0);
  const gateways = await db.query(
    `UPDATE gateways SET previous_signing_kek_version = NULL, previous_signing_wrapped_key = NULL, previous_signing_ciphertext = NULL,
            previous_signing_expires_at = NULL
      WHERE previous_signing_expires_at <= now()`,
  );
  const tenants = await db.query(
    `UPDATE tenants SET previous_notification_kek_version = NULL, previous_notification_wrapped_key = NULL,
            previous_notification_ciphertext = NULL, previous_notification_expires_at = NULL
      WHERE previous_notification_expires_at <= now()`,
  );
  const keys = await db.query(`UPDATE gateways SET previous_key_hash = NULL, previous_key_expires_at = NULL WHERE previous_key_expires_at <= now()`);
  return { secrets: count(gateways) + count(tenants), keys: count(keys) };
}
