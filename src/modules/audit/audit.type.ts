import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import { AUDIT_ACTION_DESCRIPTIONS, AUDIT_ACTIONS, type AuditAction } from './audit-actions';
import { ACTOR_TYPES, type ActorType } from './audit.entity';

export const ActorTypeEnum = constEnum(ACTOR_TYPES, {
  name: 'ActorType',
  description: 'Who performed an audited action.',
  valuesConfig: {
    API_TOKEN: { description: 'A tenant API token; actorId is its id.' },
    PLATFORM_ADMIN: { description: 'The platform admin token.' },
    SYSTEM: { description: 'Keyplane itself: a worker, a sweep or a validation outcome, with no request behind it.' },
  },
});

export const AuditActionEnum = constEnum(AUDIT_ACTIONS, {
  name: 'AuditAction',
  description: 'What an audit event records (docs/audit.md). New values may be added: treat an unknown one as informational.',
  valuesConfig: Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, { description: AUDIT_ACTION_DESCRIPTIONS[a] }])),
});

@ObjectType({ simpleResolvers: true, description: 'Something that changed, who changed it, and when. Details hold redacted hints only.' })
export class AuditEvent {
  @Field(() => ID, { description: 'Event id.' }) id!: string;
  @Field(() => ID, { nullable: true, description: 'Tenant the event belongs to.' }) tenantId!: string | null;
  @Field(() => ActorTypeEnum, { description: 'Kind of actor.' }) actorType!: ActorType;
  @Field(() => String, { nullable: true, description: 'Token id of the actor, or platform-admin.' }) actorId!: string | null;
  // Kept as a string (deprecate first, docs/audit.md "Schema"): turning the field into an enum would
  // change its type under every existing client; actionCode is the typed field.
  @Field({ description: 'What happened, e.g. CREDENTIAL_CREATED.', deprecationReason: 'Use actionCode (the same value as an enum).' })
  action!: string;
  @Field(() => AuditActionEnum, {
    nullable: true,
    description: 'What happened, as an enum. Null only for an action this server version does not know (written by a newer one during an upgrade).',
  })
  actionCode?: AuditAction | null;
  @Field({ description: 'Kind of object acted on.' }) targetType!: string;
  @Field(() => String, { nullable: true, description: 'Id of the object acted on.' }) targetId!: string | null;
  @Field(() => GraphQLJSONObject, { description: 'Action-specific details (ids, names, redacted hints).' })
  details!: Record<string, unknown>;
  @Field(() => String, { nullable: true, description: 'Request id, to match server logs.' }) requestId!: string | null;
  @Field({ description: 'When it happened.' }) createdAt!: Date;
  @Field({ description: "Position in its chain (the tenant's, or the platform's), gap-free from 1 (a decimal integer)." }) seq!: string;
  @Field({ description: 'Hash of the previous row of the chain (hex SHA-256; 64 zeros for the first).' }) prevHash!: string;
  @Field({ description: 'SHA-256 of prevHash and this row (hex; docs/audit.md).' }) hash!: string;
}

export const AuditEventConnection = ConnectionType(AuditEvent, 'AuditEvent');
