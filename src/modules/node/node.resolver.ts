import { Arg, Authorized, ID, Query, Resolver } from 'type-graphql';
import { NULL_WHEN_MISSING, orNull } from '../../graphql/lookup';
import { Node, tagNode, type TaggedNode } from '../../graphql/node';
import { CurrentActor } from '../../graphql/params';
import type { Services } from '../../services';
import { hasRole, type Actor } from '../auth/actor';
import { toCredential } from '../credential/credential.resolver';

export type NodeResolverDeps = Pick<Services, 'nodes' | 'credentials' | 'gateways' | 'tenants' | 'tokens'>;

@Resolver()
export class NodeResolver {
  constructor(private readonly s: NodeResolverDeps) {}

  @Authorized()
  @Query(() => Node, {
    nullable: true,
    description: `Any object by its id (Tenant, Credential, Gateway, ApiToken), for client caches. ${NULL_WHEN_MISSING} Null as well for an object the caller's role may not read (an ApiToken for a VIEWER).`,
  })
  node(@Arg('id', () => ID) id: string, @CurrentActor() actor: Actor): Promise<TaggedNode | null> {
    return orNull(async () => {
      const found = await this.s.nodes.locate(actor.tenantId, id);
      if (!found) return null;
      switch (found.type) {
        case 'Credential':
          return tagNode('Credential', toCredential(await this.s.credentials.get(found.tenantId, id)));
        case 'Gateway':
          return tagNode('Gateway', await this.s.gateways.get(found.tenantId, id));
        case 'Tenant':
          return tagNode('Tenant', await this.s.tenants.get(found.tenantId));
        case 'ApiToken':
          // apiTokens is ADMIN-only: a VIEWER learns no more through node() than through the list.
          return hasRole(actor, 'ADMIN') ? tagNode('ApiToken', await this.s.tokens.get(found.tenantId, id)) : null;
      }
    });
  }
}
