import 'reflect-metadata';
import { databaseUrlFromEnv } from '../config';
import { createDataSource } from './data-source';

/** For the TypeORM CLI (migration:generate, migration:revert), which wants exactly one exported DataSource. */
export default createDataSource(databaseUrlFromEnv());
