import { Arg, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { CurrentActor, Page } from '../../graphql/params';
import type { Services } from '../../services';
import type { Actor } from '../auth/actor';
import { toCredential } from '../credential/credential.resolver';
import { Credential } from '../credential/credential.type';
import { RotationReminder, RotationReminderConnection } from './reminder.type';

export type ReminderResolverDeps = Pick<Services, 'scope' | 'reminders'>;

@Resolver(() => RotationReminder)
export class ReminderResolver {
  constructor(private readonly s: ReminderResolverDeps) {}

  @Authorized()
  @Query(() => RotationReminderConnection, { description: "A tenant's key rotation reminders, newest first." })
  async rotationReminders(
    @Arg('tenantId', () => ID) tenantId: string,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
    @Arg('credentialId', () => ID, { nullable: true, description: 'Only reminders about this credential.' }) credentialId?: string,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    return toConnection(await this.s.reminders.list(scoped, { credentialId }, page));
  }

  @FieldResolver(() => Credential, { description: 'The credential to rotate.' })
  async credential(@Root() r: RotationReminder, @Ctx() ctx: GraphQLContext) {
    const found = await ctx.loaders.credential(r.tenantId).load(r.credentialId);
    // Reminders cascade with their credential, and credentials are never deleted, only revoked.
    if (!found) throw new Error('reminder without its credential');
    return toCredential(found);
  }
}
