import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import type { KeyTestOutcome } from '../../providers/types';
import { Credential } from '../credential/credential.type';
import { KeyTestOutcomeEnum } from '../provider/provider.type';
import { CHECK_ALERT_KINDS, CHECK_ALERT_STATUSES, type CheckAlertKind, type CheckAlertStatus } from './check-alert.entity';

export const CheckAlertKindEnum = constEnum(CHECK_ALERT_KINDS, {
  name: 'CredentialCheckAlertKind',
  description: 'CHECK_EXHAUSTED: a check of the key gave up after its last retry (the provider stayed rate limited or unavailable).',
  valuesConfig: {
    CHECK_EXHAUSTED: { description: 'A check gave up after its last retry: the provider stayed rate limited or unavailable.' },
  },
});
export const CheckAlertStatusEnum = constEnum(CHECK_ALERT_STATUSES, {
  name: 'CredentialCheckAlertStatus',
  description: 'OPEN until a later check of the same version gets a decisive answer, or the version no longer holds a key (RESOLVED).',
  valuesConfig: {
    OPEN: { description: 'No decisive check of this version since.' },
    RESOLVED: { description: 'A later check of the same version got a decisive answer, or the version no longer holds a key.' },
  },
});

@ObjectType({ simpleResolvers: true, description: 'A key of the tenant could not be checked against its provider. One per key version.' })
export class CredentialCheckAlert {
  @Field(() => ID, { description: 'Alert id.' }) id!: string;
  @Field(() => Credential, { description: 'The credential whose key could not be checked.' }) credential!: Credential;
  @Field(() => Int, { description: 'The key version that was being checked.' }) version!: number;
  @Field(() => CheckAlertKindEnum, { description: 'What went wrong.' }) kind!: CheckAlertKind;
  @Field(() => KeyTestOutcomeEnum, { description: 'The last outcome before the check gave up: RATE_LIMITED or PROVIDER_UNAVAILABLE.' })
  outcome!: KeyTestOutcome;
  @Field(() => CheckAlertStatusEnum, { description: 'OPEN or RESOLVED.' }) status!: CheckAlertStatus;
  @Field(() => Int, { description: 'How many checks of this version gave up.' }) occurrences!: number;
  @Field({ description: 'A sentence for people.' }) message!: string;
  @Field({ description: 'When a check of this version first gave up.' }) createdAt!: Date;
  @Field({ description: 'When a check of this version last gave up.' }) lastSeenAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When a later check settled it.' }) resolvedAt!: Date | null;
}

export const CredentialCheckAlertConnection = ConnectionType(CredentialCheckAlert, 'CredentialCheckAlert');
