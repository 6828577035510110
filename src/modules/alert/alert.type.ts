import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { ConnectionType, PageInfo } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import { Credential } from '../credential/credential.type';
import { Tenant } from '../tenant/tenant.type';
import { ALERT_SCOPES, ALERT_SEVERITIES, ALERT_STATUSES, type AlertScope, type AlertSeverity, type AlertStatus } from './alert.entity';
import { RESCAN_STATES, type RescanState } from './key-reuse.rules';

export const AlertSeverityEnum = constEnum(ALERT_SEVERITIES, {
  name: 'KeyReuseAlertSeverity',
  description: 'INFO: shared within the tenant; WARNING: with another tenant; HIGH: an OAuth token shared with another tenant.',
  valuesConfig: {
    INFO: { description: 'The key is stored twice within the tenant.' },
    WARNING: { description: 'The key is also stored by another tenant.' },
    HIGH: { description: 'An OAuth token is also stored by another tenant.' },
  },
});
export const AlertScopeEnum = constEnum(ALERT_SCOPES, {
  name: 'KeyReuseAlertScope',
  description: 'Where else the key is stored: in the same tenant or in another one.',
  valuesConfig: {
    SAME_TENANT: { description: 'Another credential of the same tenant holds the key.' },
    OTHER_TENANT: { description: 'A credential of another tenant holds the key (which one is never shown).' },
  },
});
export const AlertStatusEnum = constEnum(ALERT_STATUSES, {
  name: 'KeyReuseAlertStatus',
  description: 'OPEN, ACKNOWLEDGED or DISMISSED by a person, or RESOLVED once the credential no longer holds the key.',
  valuesConfig: {
    OPEN: { description: 'Raised (or reopened); nobody has acted on it.' },
    ACKNOWLEDGED: { description: 'Seen by a person; stays visible.' },
    DISMISSED: { description: 'Dismissed by a person; reopens if the key is registered again.' },
    RESOLVED: { description: 'The credential no longer holds the key (rotated or revoked).' },
  },
});
export const RescanStateEnum = constEnum(RESCAN_STATES, {
  name: 'KeyRescanState',
  description: 'QUEUED (not yet in the queue), WAITING, ACTIVE, COMPLETED or FAILED.',
  valuesConfig: {
    QUEUED: { description: 'Committed, not yet handed to the queue.' },
    WAITING: { description: 'In the queue, not started.' },
    ACTIVE: { description: 'Running; processed and total show progress.' },
    COMPLETED: { description: 'Finished.' },
    FAILED: { description: 'Stopped on an error; start another.' },
  },
});

/*
 * A tenant sees that its own key is shared, never with whom: no field here names, counts or groups
 * the other holders (no fingerprint, no group id). Platform admins get the groups separately.
 */

@ObjectType({ simpleResolvers: true, description: "One of the tenant's own keys is also stored elsewhere. It never says where." })
export class KeyReuseAlert {
  @Field(() => ID, { description: 'Alert id.' }) id!: string;
  @Field(() => Credential, { description: "The tenant's own credential holding the shared key." }) credential!: Credential;
  @Field(() => AlertSeverityEnum, { description: 'INFO within the tenant; WARNING or HIGH (OAuth tokens) across tenants.' })
  severity!: AlertSeverity;
  @Field(() => AlertScopeEnum, { description: 'Whether the key is also in this tenant or in another one.' }) scope!: AlertScope;
  @Field(() => AlertStatusEnum, { description: 'OPEN until acknowledged or dismissed; RESOLVED once this credential no longer holds the key.' })
  status!: AlertStatus;
  @Field({ description: 'A sentence for people.' }) message!: string;
  @Field({ description: 'When the sharing was first found.' }) createdAt!: Date;
  @Field({ description: 'When the sharing was last confirmed.' }) lastSeenAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When the status last changed.' }) statusChangedAt!: Date | null;
  @Field(() => Int, { description: 'How often the alert reopened because the key was registered again.' }) reopenCount!: number;
}

export const KeyReuseAlertConnection = ConnectionType(KeyReuseAlert, 'KeyReuseAlert');

@ObjectType({ simpleResolvers: true, description: 'One credential holding a shared key (platform admins only).' })
export class KeyReuseGroupMember {
  @Field(() => Tenant, { description: 'Owning tenant.' }) tenant!: Tenant;
  @Field(() => Credential, { description: 'The credential.' }) credential!: Credential;
  @Field(() => AlertSeverityEnum, { description: 'The highest severity of its alerts.' }) severity!: AlertSeverity;
  @Field(() => [KeyReuseAlert], { description: 'Its alerts about this key.' }) alerts!: KeyReuseAlert[];
}

@ObjectType({ simpleResolvers: true, description: 'Credentials that hold the same key (platform admins only).' })
export class KeyReuseGroup {
  @Field(() => ID, { description: 'Opaque, stable group id. Not the key fingerprint, and nothing can be derived from it.' })
  id!: string;
  @Field(() => AlertSeverityEnum, { description: 'The highest severity in the group.' }) severity!: AlertSeverity;
  @Field(() => [KeyReuseGroupMember], { description: 'Credentials holding the key, with open or handled alerts.' })
  members!: KeyReuseGroupMember[];
}

@ObjectType('KeyReuseGroupEdge', { simpleResolvers: true, description: 'An edge in a KeyReuseGroup connection.' })
export class KeyReuseGroupEdge {
  @Field({ description: 'Opaque cursor of this item.' }) cursor!: string;
  @Field(() => KeyReuseGroup, { description: 'The item.' }) node!: KeyReuseGroup;
}

@ObjectType({ simpleResolvers: true, description: 'A page of key reuse groups, in group id order.' })
export class KeyReuseGroupConnection {
  @Field(() => [KeyReuseGroupEdge], { description: 'Items with their cursors.' }) edges!: KeyReuseGroupEdge[];
  @Field(() => [KeyReuseGroup], { description: 'The items, without cursors.' }) nodes!: KeyReuseGroup[];
  @Field(() => PageInfo, { description: 'Where this page sits.' }) pageInfo!: PageInfo;
}

@InputType({ description: 'The alert to acknowledge or dismiss.' })
export class KeyReuseAlertInput {
  @Field(() => ID, { description: 'Alert id.' }) id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of acknowledging or dismissing a key reuse alert.' })
export class KeyReuseAlertPayload extends Payload {
  @Field(() => KeyReuseAlert, { nullable: true, description: 'The alert after the change.' }) alert?: KeyReuseAlert;
}

@InputType({ description: 'Start fingerprinting every stored key again.' })
export class StartKeyRescanInput {
  @Field(() => String, { nullable: true, description: 'Why, for the audit trail (up to 500 characters).' }) reason?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of starting a key rescan.' })
export class StartKeyRescanPayload extends Payload {
  @Field(() => ID, { nullable: true, description: 'Pass to keyRescan to follow progress.' }) jobId?: string;
}

@ObjectType({ simpleResolvers: true, description: 'Progress of a key rescan.' })
export class KeyRescanStatus {
  @Field(() => ID, { description: 'The rescan job id.' }) jobId!: string;
  @Field(() => RescanStateEnum, { description: 'QUEUED until the worker picks the job up.' }) state!: RescanState;
  @Field(() => Int, { nullable: true, description: 'Stored key versions scanned so far.' }) processed!: number | null;
  @Field(() => Int, { nullable: true, description: 'Stored key versions to scan.' }) total!: number | null;
}
