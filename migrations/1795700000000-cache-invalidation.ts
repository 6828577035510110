import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Change notifications for the API's read caches (src/db/invalidations.ts). Triggers, not
 * application code, so that every writer is covered: the API, the worker, a migration, an
 * operator's psql session. Each committed change to what authenticates a request or what a
 * gateway is served does `pg_notify('keyplane_invalidate', <tenant id or '*'>)`; NOTIFY is
 * transactional, so it is heard only if the change commits, and only after it does.
 *
 * Only changes that matter fire: a credential's last_validated_at moving, a gateway recording a
 * pull or a token's last_used_at do not, and a new credential is not served anywhere until it is
 * attached. (NOTIFY serialises committing transactions that use it, so hot writes stay out.)
 */
const CHANNEL = 'keyplane_invalidate';

/** [trigger suffix, table, timing/events, WHEN condition or null, scope argument] */
const TRIGGERS: [string, string, string, string | null, string][] = [
  ['tokens', 'api_tokens', 'AFTER UPDATE OF revoked_at, role, name, token_hash, tenant_id OR DELETE', null, 'owned'],
  ['tenants', 'tenants', 'AFTER UPDATE OF byok_mode OR DELETE', null, 'tenant'],
  ['gateways', 'gateways', 'AFTER UPDATE OF key_hash, credential_mode, config_version, tenant_id OR DELETE', null, 'owned'],
  ['attachments', 'gateway_credentials', 'AFTER INSERT OR UPDATE OR DELETE', null, 'owned'],
  ['modes', 'gateway_provider_modes', 'AFTER INSERT OR UPDATE OR DELETE', null, 'owned'],
  [
    'credentials',
    'credentials',
    'AFTER UPDATE',
    `(OLD.status, OLD.current_version, OLD.revoked_at, OLD.label, OLD.tenant_id)
       IS DISTINCT FROM (NEW.status, NEW.current_version, NEW.revoked_at, NEW.label, NEW.tenant_id)`,
    'owned',
  ],
  ['credentials_del', 'credentials', 'AFTER DELETE', null, 'owned'],
  [
    'versions',
    'credential_versions',
    'AFTER UPDATE',
    `(OLD.state, OLD.version, OLD.retire_after, OLD.redacted_key, OLD.ciphertext IS NULL, OLD.wrapped_key IS NULL, OLD.kek_version IS NULL, OLD.tenant_id)
       IS DISTINCT FROM (NEW.state, NEW.version, NEW.retire_after, NEW.redacted_key, NEW.ciphertext IS NULL, NEW.wrapped_key IS NULL, NEW.kek_version IS NULL, NEW.tenant_id)`,
    'owned',
  ],
  ['versions_del', 'credential_versions', 'AFTER DELETE', null, 'owned'],
  // A servable version inserted into a credential that gateways already use (not a new credential's first).
  ['versions_ins', 'credential_versions', 'AFTER INSERT', `NEW.state IN ('ACTIVE', 'PREVIOUS')`, 'attached'],
  ['platform_keys', 'platform_keys', 'AFTER INSERT OR UPDATE OR DELETE', null, 'platform'],
  ['providers', 'providers', 'AFTER INSERT OR UPDATE OR DELETE', null, 'platform'],
];

const TRUNCATED = [
  'api_tokens',
  'tenants',
  'gateways',
  'gateway_credentials',
  'gateway_provider_modes',
  'credentials',
  'credential_versions',
  'platform_keys',
  'providers',
];

export class CacheInvalidation1795700000000 implements MigrationInterface {
  name = 'CacheInvalidation1795700000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
CREATE FUNCTION keyplane_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_LEVEL = 'STATEMENT' OR TG_ARGV[0] = 'platform' THEN
    PERFORM pg_notify('${CHANNEL}', '*');
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  IF TG_ARGV[0] = 'tenant' THEN
    PERFORM pg_notify('${CHANNEL}', r.id::text);
    RETURN NULL;
  END IF;
  IF TG_ARGV[0] = 'attached' THEN
    -- Nested: plpgsql binds every field an expression names, even where AND would stop early.
    IF NOT EXISTS (SELECT 1 FROM gateway_credentials gc WHERE gc.credential_id = r.credential_id) THEN
      RETURN NULL;
    END IF;
  END IF;
  PERFORM pg_notify('${CHANNEL}', r.tenant_id::text);
  IF TG_OP = 'UPDATE' THEN
    IF OLD.tenant_id IS DISTINCT FROM NEW.tenant_id THEN
      PERFORM pg_notify('${CHANNEL}', OLD.tenant_id::text);
    END IF;
  END IF;
  RETURN NULL;
END
$$`);
    for (const [suffix, table, events, when, scope] of TRIGGERS) {
      await queryRunner.query(
        `CREATE TRIGGER "tr_invalidate_${suffix}" ${events} ON "${table}" FOR EACH ROW ${when ? `WHEN (${when})` : ''} EXECUTE FUNCTION keyplane_invalidate('${scope}')`,
      );
    }
    for (const table of TRUNCATED) {
      await queryRunner.query(
        `CREATE TRIGGER "tr_invalidate_truncate" AFTER TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION keyplane_invalidate('platform')`,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of TRUNCATED) await queryRunner.query(`DROP TRIGGER "tr_invalidate_truncate" ON "${table}"`);
    for (const [suffix, table] of TRIGGERS) await queryRunner.query(`DROP TRIGGER "tr_invalidate_${suffix}" ON "${table}"`);
    await queryRunner.query(`DROP FUNCTION keyplane_invalidate()`);
  }
}
