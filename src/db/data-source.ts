import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities';

/**
 * The only DataSource. Schema changes go through migrations; nothing here ever synchronizes.
 * The TypeORM CLI loads cli-data-source.ts, which builds one from DATABASE_URL.
 */
export function createDataSource(url: string, poolSize = 10): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
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
