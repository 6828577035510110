import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ApiShape, AuthScheme } from '../../providers/types';

/** The provider catalog is data: format rules and base URLs change at run time, without a release. */
@Entity({ name: 'providers' })
@Index('uq_providers_slug', ['slug'], { unique: true })
@Check('ck_providers_auth_scheme', `"auth_scheme" IN ('BEARER', 'X_API_KEY', 'X_GOOG_API_KEY')`)
@Check('ck_providers_api_shape', `"api_shape" IN ('OPENAI', 'ANTHROPIC', 'GEMINI', 'OPENROUTER')`)
export class ProviderEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') slug!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'base_url' }) baseUrl!: string;
  @Column('text', { name: 'auth_scheme' }) authScheme!: AuthScheme;
  @Column('text', { name: 'api_shape' }) apiShape!: ApiShape;
  @Column('text', { name: 'key_prefixes', array: true, default: () => "'{}'" }) keyPrefixes!: string[];
  @Column('text', { name: 'key_pattern' }) keyPattern!: string;
  @Column('boolean', { name: 'built_in', default: false }) builtIn!: boolean;
  @Column('boolean', { default: true }) enabled!: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
