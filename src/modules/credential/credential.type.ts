import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/node';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import type { KeyTestOutcome } from '../../providers/types';
import {
  CREDENTIAL_KINDS,
  CREDENTIAL_STATUSES,
  VERSION_STATES,
  type CredentialKind,
  type CredentialStatus,
  type VersionState,
} from './credential.entity';
import { KeyTestOutcomeEnum } from '../provider/provider.type';

/** The idempotencyKey field of key-material mutations (README: Idempotency keys). */
export const IDEMPOTENCY_KEY_DESCRIPTION =
  'Optional, 1-255 characters, unique per request: a retry with the same key within 24 hours returns the first answer (never the key again) and changes nothing; the same key with a different request is IDEMPOTENCY_KEY_REUSED. Scoped to the tenant.';

export const CredentialKindEnum = constEnum(CREDENTIAL_KINDS, {
  name: 'CredentialKind',
  description: 'What kind of secret a credential holds.',
  valuesConfig: {
    API_KEY: { description: 'A provider API key (the default).' },
    OAUTH_TOKEN: { description: 'An OAuth access token; shared with another tenant it raises a HIGH key reuse alert.' },
  },
});
export const CredentialStatusEnum = constEnum(CREDENTIAL_STATUSES, {
  name: 'CredentialStatus',
  description: 'PENDING_VALIDATION after create or rotate until the worker checks the key; REVOKED is final.',
  valuesConfig: {
    PENDING_VALIDATION: { description: 'Created or rotated; the worker has not checked the new key yet.' },
    ACTIVE: { description: 'A version validated and is served to gateways.' },
    INVALID: { description: 'The provider rejected the key (e.g. 401); gateways are not served it. Rotate it.' },
    REVOKED: { description: 'Revoked: its key material is destroyed. Final.' },
    UNREADABLE: { description: 'Its stored key no longer opens (tampered with or moved); only a rotation brings it back.' },
  },
});
export const VersionStateEnum = constEnum(VERSION_STATES, {
  name: 'CredentialVersionState',
  description: 'Lifecycle of one stored key version.',
  valuesConfig: {
    PENDING: { description: 'Stored, waiting for its check.' },
    ACTIVE: { description: 'The version gateways are served.' },
    PREVIOUS: { description: 'Replaced by a newer ACTIVE version, still served through its grace period.' },
    RETIRED: { description: 'No longer served; its key material is destroyed.' },
    REJECTED: { description: 'Its check failed before it ever served; its key material is destroyed.' },
    REVOKED: { description: 'Destroyed with its credential.' },
  },
});

/*
 * Output types are separate classes from the entities on purpose: a field only reaches the API
 * when it is declared here, and no key material, fingerprint or ciphertext is.
 */

@ObjectType({ simpleResolvers: true, description: 'The last check of a key against its provider.' })
export class LastValidation {
  @Field(() => KeyTestOutcomeEnum, { description: 'The typed outcome.' }) outcome!: KeyTestOutcome;
  @Field({ description: 'When the check ran.' }) checkedAt!: Date;
  @Field(() => [String], { description: 'Models the provider listed for the key.' }) models!: string[];
  @Field(() => String, { nullable: true, description: 'A sentence for people.' }) message!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'One stored version of a key (metadata only).' })
export class CredentialVersion {
  @Field(() => Int, { description: 'Version number, from 1.' }) version!: number;
  @Field(() => VersionStateEnum, { description: 'Where this version is in its lifecycle.' }) state!: VersionState;
  @Field({ description: 'Redacted hint of this version.' }) redactedKey!: string;
  @Field({ description: 'When this version was stored.' }) createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When it started serving.' }) activatedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When it stopped serving or was destroyed.' }) retiredAt!: Date | null;
  @Field(() => LastValidation, {
    nullable: true,
    description: "This version's own last check, if any. Only the serving version's shows on the credential (Credential.lastValidation).",
  })
  lastValidation?: LastValidation | null;
}

@ObjectType({
  simpleResolvers: true,
  implements: Node,
  description: "A tenant's provider key. The key itself is write-only: only a redacted hint is ever returned.",
})
export class Credential {
  @Field(() => ID, { description: 'Credential id.' }) id!: string;
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field(() => ID, { description: 'Provider id.' }) providerId!: string;
  @Field({ description: 'Name to tell keys of one provider apart, e.g. "prod".' }) label!: string;
  @Field(() => CredentialKindEnum, { description: 'API key or OAuth token.' }) kind!: CredentialKind;
  @Field({ description: 'Provider prefix and last 4 characters of the newest version, e.g. sk-proj-…AbCd.' })
  redactedKey!: string;
  @Field(() => CredentialStatusEnum, { description: 'Lifecycle status.' }) status!: CredentialStatus;
  @Field(() => Int, { description: 'Newest stored version (a rotation adds one).' }) version!: number;
  @Field(() => Int, { nullable: true, description: 'Version gateways are served; null until one validates.' })
  activeVersion!: number | null;
  @Field(() => Int, { nullable: true, description: 'Own rotation period; null follows the tenant policy.' })
  rotationPeriodDays!: number | null;
  @Field({ description: 'Date by which the key should be rotated.' }) rotateBy!: Date;
  @Field({ description: 'When the credential was created.' }) createdAt!: Date;
  @Field({ description: 'When the credential was last changed.' }) updatedAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When a rotated key last validated and started serving.' }) rotatedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When the credential was revoked.' }) revokedAt!: Date | null;
}

export const CredentialConnection = ConnectionType(Credential, 'Credential');

@InputType({ description: 'Store a new provider key.' })
export class CreateCredentialInput {
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field(() => ID, { description: 'Provider id.' }) providerId!: string;
  @Field({ description: 'Up to 100 characters, unique per tenant and provider.' }) label!: string;
  @Field(() => CredentialKindEnum, { nullable: true, description: 'Defaults to API_KEY.' }) kind?: CredentialKind | null;
  @Field({ description: 'The key. Write-only: encrypted at rest, never returned.' }) secret!: string;
  @Field(() => Int, { nullable: true, description: 'Own rotation period in days; defaults to the tenant policy.' })
  rotationPeriodDays?: number | null;
  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null;
}

@InputType({ description: 'Change credential metadata; omitted fields stay as they are.' })
export class UpdateCredentialInput {
  @Field(() => ID, { description: 'Credential id.' }) id!: string;
  @Field(() => String, { nullable: true, description: 'New label.' }) label?: string | null;
  @Field(() => Int, { nullable: true, description: 'New rotation period in days; null returns to the tenant policy.' })
  rotationPeriodDays?: number | null;
}

@InputType({ description: 'Submit a new key for an existing credential.' })
export class RotateCredentialInput {
  @Field(() => ID, { description: 'Credential id.' }) id!: string;
  @Field({ description: 'The new key. It serves once it validates; the old one serves until then.' }) secret!: string;
  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null;
}

@InputType({ description: 'The credential to check against its provider again.' })
export class RevalidateCredentialInput {
  @Field(() => ID, { description: 'Credential id.' }) id!: string;
}

@InputType({ description: 'The credential to revoke.' })
export class RevokeCredentialInput {
  @Field(() => ID, { description: 'Credential id.' }) id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a credential mutation.' })
export class CredentialPayload extends Payload {
  @Field(() => Credential, { nullable: true, description: 'The credential after the change.' }) credential?: Credential;
}
