import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import { RescanStateEnum } from '../alert/alert.type';
import type { RescanState } from '../alert/key-reuse.rules';
import { REWRAP_STATES, type RewrapState } from './rewrap-progress';

export const KeyRewrapStateEnum = constEnum(REWRAP_STATES, {
  name: 'KeyRewrapState',
  description: 'QUEUED (not yet picked up), RUNNING, COMPLETED or FAILED.',
  valuesConfig: {
    QUEUED: { description: 'Started, not yet picked up by a worker.' },
    RUNNING: { description: 'A worker is resealing records.' },
    COMPLETED: { description: 'Every record it found is sealed under the target version.' },
    FAILED: { description: 'Stopped; failures lists the records it could not reseal.' },
  },
});
export const KeyRewrapFailureReasonEnum = constEnum(['UNREADABLE', 'KEY_VERSION_UNAVAILABLE'] as const, {
  name: 'KeyRewrapFailureReason',
  description: 'UNREADABLE: the record does not open (tampered, moved); KEY_VERSION_UNAVAILABLE: sealed under a version the worker lacks.',
  valuesConfig: {
    UNREADABLE: { description: 'The record does not open (tampered with or moved).' },
    KEY_VERSION_UNAVAILABLE: { description: "It is sealed under a master key version the worker's keyring lacks." },
  },
});

@ObjectType({ simpleResolvers: true, description: 'Rewrap counts for one sealed record kind and the KEK version its records had.' })
export class KeyRewrapCount {
  @Field({ description: 'Seal catalogue kind, e.g. credential-version.' }) kind!: string;
  @Field(() => Int, { description: 'KEK version the records had when scanned.' }) kekVersion!: number;
  @Field(() => Int, { description: 'Records read.' }) scanned!: number;
  @Field(() => Int, { description: 'Records moved to the target version.' }) rewrapped!: number;
  @Field(() => Int, { description: 'Records already under the target version.' }) alreadyCurrent!: number;
  @Field(() => Int, { description: 'Records that did not open (listed in failures, bounded).' }) failed!: number;
  @Field(() => Int, { description: 'Records changed by someone else meanwhile (rotated, revoked, deleted): left as they were.' })
  changed!: number;
}

@ObjectType({ simpleResolvers: true, description: 'A record the rewrap could not open. Ids only.' })
export class KeyRewrapFailure {
  @Field({ description: 'Seal catalogue kind.' }) kind!: string;
  @Field(() => ID, { description: 'Primary key of the record.' }) id!: string;
  @Field(() => Int, { description: 'Its KEK version.' }) kekVersion!: number;
  @Field(() => KeyRewrapFailureReasonEnum, { description: 'Why it did not open.' }) reason!: string;
}

@ObjectType({ simpleResolvers: true, description: 'A master key rewrap run (platform admins only).' })
export class KeyRewrapStatus {
  @Field(() => ID, { description: 'Job id.' }) jobId!: string;
  @Field(() => KeyRewrapStateEnum, { description: 'Where the run is.' }) state!: RewrapState;
  @Field(() => Int, { nullable: true, description: 'The KEK version records are moved to (known once it runs).' }) targetVersion!: number | null;
  @Field({ description: 'When it was requested.' }) requestedAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When a worker first started it.' }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When it completed or failed.' }) finishedAt!: Date | null;
  @Field(() => [KeyRewrapCount], { description: 'Per kind and KEK version.' }) counts!: KeyRewrapCount[];
  @Field(() => [KeyRewrapFailure], { description: 'Records that did not open, the first 100.' }) failures!: KeyRewrapFailure[];
  @Field(() => Int, { description: 'All records that did not open.' }) failuresTotal!: number;
  @Field(() => String, { nullable: true, description: 'Why a FAILED run stopped.' }) reason!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Sealed records of one kind under one KEK version.' })
export class SealedRecordCount {
  @Field({ description: 'Seal catalogue kind.' }) kind!: string;
  @Field(() => Int, { description: 'Records.' }) count!: number;
}

@ObjectType({ simpleResolvers: true, description: 'One master key (KEK) version.' })
export class KekVersionCustody {
  @Field(() => Int, { description: 'Version number.' }) version!: number;
  @Field({ description: 'New seals use it (on this API process).' }) current!: boolean;
  @Field({ description: "Whether this API process's keyring holds it." }) inKeyring!: boolean;
  @Field(() => Int, { description: 'Records sealed under it.' }) records!: number;
  @Field(() => [SealedRecordCount], { description: 'Records sealed under it, per kind.' }) byKind!: SealedRecordCount[];
}

@ObjectType({ simpleResolvers: true, description: 'Stored fingerprints of one table under one pepper version.' })
export class PepperRecordCount {
  @Field({ description: 'Table: credential_versions or key_reuse_alerts.' }) table!: string;
  @Field(() => Int, { description: 'Records.' }) count!: number;
}

@ObjectType({ simpleResolvers: true, description: 'One fingerprint pepper version (KEYPLANE_FINGERPRINT_KEY).' })
export class PepperVersionCustody {
  @Field(() => Int, { description: 'Version number.' }) version!: number;
  @Field({ description: 'New fingerprints use it (on this API process).' }) current!: boolean;
  @Field({ description: "Whether this API process's pepper ring holds it." }) inKeyring!: boolean;
  @Field(() => Int, { description: 'Stored fingerprints computed under it.' }) records!: number;
  @Field(() => [PepperRecordCount], { description: 'Stored fingerprints under it, per table.' }) byTable!: PepperRecordCount[];
}

@ObjectType({ simpleResolvers: true, description: 'Progress of a fingerprint pepper rekey.' })
export class PepperRekeyStatus {
  @Field(() => ID, { description: 'The rekey job id.' }) jobId!: string;
  @Field(() => RescanStateEnum, { description: 'QUEUED until the worker picks the job up.' }) state!: RescanState;
  @Field(() => Int, { nullable: true, description: 'Key versions under an older pepper examined so far.' }) processed!: number | null;
  @Field(() => Int, { nullable: true, description: 'Key versions under an older pepper when the job started.' }) total!: number | null;
  @Field(() => Int, { nullable: true, description: 'Stored key versions moved to the current pepper (holders of one key move together).' })
  rekeyed!: number | null;
  @Field(() => Int, { nullable: true, description: 'Key versions that did not open: left under their pepper version.' }) failed!: number | null;
}

@InputType({ description: 'Why the pepper rekey is started (for the audit trail).' })
export class StartPepperRekeyInput {
  @Field(() => String, { nullable: true, description: 'Free text, kept in the audit row.' }) reason?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of starting a fingerprint pepper rekey.' })
export class StartPepperRekeyPayload extends Payload {
  @Field(() => ID, { nullable: true, description: 'Pass to pepperRekey to follow progress.' }) jobId?: string;
}

@ObjectType({ simpleResolvers: true, description: 'Master key custody (platform admins only).' })
export class KeyCustody {
  @Field(() => Int, { description: 'The version new seals use.' }) currentVersion!: number;
  @Field(() => [KekVersionCustody], { description: 'Versions in the keyring, in the database, or with a check value.' })
  versions!: KekVersionCustody[];
  @Field(() => [KeyRewrapStatus], { description: 'Rewraps queued or running.' }) runningRewraps!: KeyRewrapStatus[];
  @Field(() => Int, { description: 'The fingerprint pepper version new fingerprints use.' }) currentPepperVersion!: number;
  @Field(() => [PepperVersionCustody], { description: 'Fingerprint pepper versions in the ring or used by stored fingerprints.' })
  pepperVersions!: PepperVersionCustody[];
}

@InputType({ description: 'Why the rewrap is started (for the audit trail).' })
export class StartKeyRewrapInput {
  @Field(() => String, { nullable: true, description: 'Free text, kept in the audit row.' }) reason?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of starting a master key rewrap.' })
export class StartKeyRewrapPayload extends Payload {
  @Field(() => ID, { nullable: true, description: 'Pass to keyRewrap to follow progress.' }) jobId?: string;
}
