import { Field, ID, Int, ObjectType } from 'type-graphql';
import { constEnum } from '../../graphql/const-enum';
import { CHAIN_BREAK_KINDS, type ChainBreakKind } from './audit-integrity';

export const AuditChainBreakKindEnum = constEnum(CHAIN_BREAK_KINDS, {
  name: 'AuditChainBreakKind',
  description:
    'SEQ_GAP: a row was deleted; PREV_HASH_MISMATCH: a row was inserted or reordered; HASH_MISMATCH: a row was modified; ' +
    'CHECKPOINT_MISMATCH: the chain was rewritten under a signed checkpoint; CHECKPOINT_SIGNATURE_INVALID: a checkpoint does not verify; ' +
    'TRUNCATED: rows a signed checkpoint covers are gone; HEAD_MISSING / HEAD_MISMATCH: the chain head row is gone or out of step.',
  valuesConfig: {
    SEQ_GAP: { description: 'A position is missing: a row was deleted.' },
    PREV_HASH_MISMATCH: { description: "A row does not point at its predecessor's hash: a row was inserted or reordered." },
    HASH_MISMATCH: { description: 'A row does not hash to its stored hash: it was modified.' },
    CHECKPOINT_MISMATCH: { description: 'The row at a signed checkpoint has another hash: the chain was rewritten under it.' },
    CHECKPOINT_SIGNATURE_INVALID: { description: 'A checkpoint signature does not verify with its key version.' },
    TRUNCATED: { description: 'Rows a signed checkpoint covers are gone: the tail was cut.' },
    HEAD_MISSING: { description: 'The chain head row (the latest position and hash) is gone.' },
    HEAD_MISMATCH: { description: 'The chain head row disagrees with the last row of the chain.' },
  },
});

@ObjectType({ simpleResolvers: true, description: 'Where an audit chain breaks: the first problem found, in seq order.' })
export class AuditChainBreak {
  @Field(() => AuditChainBreakKindEnum, { description: 'What kind of tampering or damage it shows.' }) kind!: ChainBreakKind;
  @Field(() => String, { nullable: true, description: 'Position in the chain (a decimal integer): the missing row for a gap or a cut tail.' })
  seq!: string | null;
  @Field(() => ID, { nullable: true, description: 'The audit event found at that position, if any.' }) eventId!: string | null;
  @Field({ description: 'What was found, in a sentence.' }) message!: string;
}

@ObjectType({ simpleResolvers: true, description: 'A signed statement that a chain had this hash at this position.' })
export class AuditCheckpoint {
  @Field({ description: 'Position in the chain (a decimal integer).' }) seq!: string;
  @Field({ description: 'Hash of the row at that position (hex SHA-256).' }) hash!: string;
  @Field(() => Int, { description: 'Version of the signing key (GET /v1/audit/keys).' }) keyVersion!: number;
  @Field({ description: 'Ed25519 signature, base64 (docs/audit.md: what is signed).' }) signature!: string;
  @Field({ description: 'When it was signed (ISO 8601, milliseconds).' }) signedAt!: string;
}

@ObjectType({ simpleResolvers: true, description: "The result of checking an audit chain's hashes, sequence and checkpoints." })
export class AuditIntegrityReport {
  @Field(() => ID, { nullable: true, description: 'Tenant whose chain this is.' }) tenantId!: string | null;
  @Field({ description: 'True when no break was found.' }) ok!: boolean;
  @Field(() => Int, { description: 'Rows checked.' }) rowsChecked!: number;
  @Field(() => String, { nullable: true, description: 'Position of the last row checked (the head when ok).' }) lastSeq!: string | null;
  @Field(() => String, { nullable: true, description: 'Hash of the last row checked.' }) lastHash!: string | null;
  @Field(() => Int, { description: 'Signed checkpoints checked.' }) checkpointsChecked!: number;
  @Field(() => AuditCheckpoint, { nullable: true, description: 'The latest checkpoint that verified.' }) lastCheckpoint!: AuditCheckpoint | null;
  @Field(() => AuditChainBreak, { nullable: true, description: 'The first break, when not ok.' }) break!: AuditChainBreak | null;
}
