import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import type { DeliveryStatus } from '../webhook/webhook.entity';
import { REMINDER_THRESHOLDS, type ReminderThreshold } from './reminder.entity';
import { DeliveryStatusEnum } from '../webhook/webhook.type';

export const ReminderThresholdEnum = constEnum(REMINDER_THRESHOLDS, {
  name: 'ReminderThreshold',
  description: 'How close a key is to its rotate-by date: 14, 7 or 1 days before, or past it.',
  valuesConfig: {
    DAYS_14: { description: '14 days before the rotate-by date.' },
    DAYS_7: { description: '7 days before.' },
    DAYS_1: { description: '1 day before.' },
    OVERDUE: { description: 'The rotate-by date has passed.' },
  },
});

@ObjectType({ simpleResolvers: true, description: 'A reminder that a stored key is due for rotation, recorded once per key version and threshold.' })
export class RotationReminder {
  @Field(() => ID, { description: 'Reminder id (the webhook payload names it as reminderId).' }) id!: string;
  tenantId!: string;
  credentialId!: string;
  @Field(() => Int, { description: 'The key version the reminder is about.' }) version!: number;
  @Field(() => ReminderThresholdEnum, { description: 'Which threshold was crossed.' }) threshold!: ReminderThreshold;
  @Field({ description: 'The rotate-by date when the reminder was recorded.' }) rotateBy!: Date;
  @Field({ description: 'When the reminder was recorded.' }) createdAt!: Date;
  @Field(() => DeliveryStatusEnum, {
    nullable: true,
    description: 'State of its notification webhook message; null when the tenant had no notification webhook.',
  })
  deliveryStatus!: DeliveryStatus | null;
}

export const RotationReminderConnection = ConnectionType(RotationReminder, 'RotationReminder');
