import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities';

/**
 * The only DataSource. Schema changes go through migrations; nothing here ever synchronizes.
 * The TypeORM CLI loads cli-data-source.ts, which builds one from DATABASE_URL.
 *
 * `replicated`: the API with DATABASE_REPLICA_URLS. TypeORM's replication mode is on with
 * defaultMode 'master', so every query, SELECTs included, stays on the primary unless a
 * ReplicaRouter (src/db/replicas.ts) is attached and the request was routed to a replica. TypeORM's
 * own default would send every SELECT outside a transaction to a replica, token lookups included.
 */
export function createDataSource(url: string, poolSize = 10, options: { replicated?: boolean } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    ...(options.replicated ? { replication: { master: { url }, slaves: [], defaultMode: 'master' as const } } : { url }),
    entities: ENTITIES,
    migrations: [__dirname + '/../../migrations/*.{ts,js}'],
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    uuidExtension: 'pgcrypto',
    extra: { max: poolSize },
    logging: false,
  });
}
