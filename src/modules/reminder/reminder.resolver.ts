import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import { actorOf, type GraphQLContext } from '../../graphql/context';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import type { Services } from '../../services';
import { toCredential } from '../credential/credential.resolver';
import { Credential } from '../credential/credential.type';
import { RotationReminder, RotationReminderConnection } from './reminder.type';

@Resolver(() => RotationReminder)
export class ReminderResolver {
  constructor(
    private readonly s: Services,
    private readonly pageMax: (first: number) => void,
  ) {}

  @Authorized()
  @Query(() => RotationReminderConnection, { description: "A tenant's key rotation reminders, newest first." })
  async rotationReminders(
    @Arg('tenantId', () => ID) tenantId: string,
    @Args() page: PageArgsInput,
    @Ctx() ctx: GraphQLContext,
    @Arg('credentialId', () => ID, { nullable: true, description: 'Only reminders about this credential.' }) credentialId?: string,
  ) {
    this.pageMax(page.first);
    const scoped = await this.s.scope.forTenant(actorOf(ctx), tenantId);
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
