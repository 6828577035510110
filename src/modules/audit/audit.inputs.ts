import { Field, ID, InputType } from 'type-graphql';
import type { AuditAction } from './audit-actions';
import type { ActorType } from './audit.entity';
import { ActorTypeEnum, AuditActionEnum } from './audit.type';

/** Filters of a tenant's audit trail; every one given must match (AND). */
@InputType({ description: 'Narrows an audit trail: every filter given must match.' })
export class AuditEventFilter {
  @Field(() => [AuditActionEnum], { nullable: true, description: 'Only these actions (any of them; at most 50).' })
  actions?: AuditAction[] | null;
  @Field(() => ActorTypeEnum, { nullable: true, description: 'Only this kind of actor.' }) actorType?: ActorType | null;
  @Field(() => String, { nullable: true, description: 'Only this actor (a token id, or platform-admin).' }) actorId?: string | null;
  @Field(() => String, { nullable: true, description: 'Only this kind of target, e.g. CREDENTIAL.' }) targetType?: string | null;
  @Field(() => String, { nullable: true, description: 'Only this target id.' }) targetId?: string | null;
  @Field(() => String, {
    nullable: true,
    description: "Only events about this key (a keyRef from an event's details.keyRefs): follows one key across its life.",
  })
  keyRef?: string | null;
  @Field(() => Date, { nullable: true, description: 'Only events at or after this time.' }) since?: Date | null;
  @Field(() => Date, { nullable: true, description: 'Only events before this time.' }) until?: Date | null;
}

/** The platform admin's filters: the tenant filters, and which chains. */
@InputType({ description: "Narrows the platform-wide audit trail (the platform's events and every tenant's)." })
export class PlatformAuditEventFilter extends AuditEventFilter {
  @Field(() => ID, { nullable: true, description: "Only this tenant's events." }) tenantId?: string | null;
  @Field(() => Boolean, { nullable: true, description: "Only the platform's own events (no tenant). Cannot be combined with tenantId." })
  platformOnly?: boolean | null;
}
