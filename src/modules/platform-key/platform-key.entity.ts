import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ProviderEntity } from '../provider/provider.entity';

/**
 * A key the platform owns, served to BUNDLED and HYBRID gateways. Sealed like tenant keys, with
 * tenant id "platform" in the AAD. Managed by platform admins only.
 */
@Entity({ name: 'platform_keys' })
@Index('ix_platform_keys_provider', ['providerId', 'priority'])
@Index('ix_platform_keys_kek_version', ['kekVersion'], { where: '"kek_version" IS NOT NULL' })
export class PlatformKeyEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'provider_id' }) providerId!: string;
  @ManyToOne(() => ProviderEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'provider_id', foreignKeyConstraintName: 'fk_platform_keys_provider' })
  provider?: ProviderEntity;
  @Column('text') label!: string;
  @Column('int', { default: 0 }) priority!: number;
  @Column('int', { name: 'kek_version', nullable: true }) kekVersion!: number | null;
  @Column('bytea', { name: 'wrapped_key', nullable: true }) wrappedKey!: Buffer | null;
  @Column('bytea', { nullable: true }) ciphertext!: Buffer | null;
  @Column('text', { name: 'redacted_key' }) redactedKey!: string;
  /** Keyed reference for audit events (src/crypto auditKeyRef, platform scope); kept after revocation. */
  @Column('text', { name: 'key_ref', nullable: true }) keyRef!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}
