import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { NULL_WHEN_MISSING, orNull } from '../../graphql/lookup';
import type { GraphQLContext } from '../../graphql/context';
import { PageArgsInput, toConnection } from '../../graphql/connection';
import { Audit, CurrentActor, Page } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { Actor, AuditActor } from '../auth/actor';
import { Provider } from '../provider/provider.type';
import type { CredentialEntity, CredentialKind, CredentialStatus, CredentialVersionEntity } from './credential.entity';
import {
  CreateCredentialInput,
  Credential,
  CredentialConnection,
  CredentialKindEnum,
  CredentialStatusEnum,
  CredentialPayload,
  CredentialVersion,
  LastValidation,
  RevalidateCredentialInput,
  RevokeCredentialInput,
  RotateCredentialInput,
  UpdateCredentialInput,
} from './credential.type';

/** Entity -> API shape; a plain mapping so the API never grows a field by accident. */
export function toCredential(c: CredentialEntity): Credential & { lastValidationRow: CredentialEntity } {
  return { ...c, version: c.latestVersion, activeVersion: c.currentVersion, lastValidationRow: c };
}

/** A version's metadata and its own last check; never its material or fingerprint. */
export function toCredentialVersion(v: CredentialVersionEntity): CredentialVersion {
  return {
    version: v.version,
    state: v.state,
    redactedKey: v.redactedKey,
    createdAt: v.createdAt,
    activatedAt: v.activatedAt,
    retiredAt: v.retiredAt,
    lastValidation: toLastValidation(v),
  };
}

function toLastValidation(
  row: Pick<CredentialEntity, 'lastValidationOutcome' | 'lastValidatedAt' | 'lastValidationModels' | 'lastValidationMessage'>,
) {
  if (!row.lastValidationOutcome || !row.lastValidatedAt) return null;
  return {
    outcome: row.lastValidationOutcome,
    checkedAt: row.lastValidatedAt,
    models: row.lastValidationModels ?? [],
    message: row.lastValidationMessage,
  };
}

export type CredentialResolverDeps = Pick<Services, 'scope' | 'credentials'>;

@Resolver(() => Credential)
export class CredentialResolver {
  constructor(private readonly s: CredentialResolverDeps) {}

  @Authorized()
  @Query(() => CredentialConnection, { description: "A tenant's credentials, newest first. Revoked ones only on request." })
  async credentials(
    @Arg('tenantId', () => ID) tenantId: string,
    @Page() page: PageArgsInput,
    @CurrentActor() actor: Actor,
    @Arg('providerId', () => ID, { nullable: true, description: 'Only this provider.' }) providerId?: string,
    @Arg('status', () => CredentialStatusEnum, { nullable: true, description: 'Only this status.' }) status?: CredentialStatus,
    @Arg('kind', () => CredentialKindEnum, { nullable: true, description: 'Only this kind.' }) kind?: CredentialKind,
    @Arg('includeRevoked', { defaultValue: false, description: 'Include revoked credentials.' }) includeRevoked?: boolean,
  ) {
    const scoped = await this.s.scope.forTenant(actor, tenantId);
    const found = await this.s.credentials.list(scoped, { providerId, status, kind, includeRevoked }, page);
    return toConnection(found, toCredential);
  }

  @Authorized()
  @Query(() => Credential, { nullable: true, description: `One credential. ${NULL_WHEN_MISSING}` })
  credential(@Arg('id', () => ID) id: string, @CurrentActor() actor: Actor) {
    return orNull(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'credential', id);
      return toCredential(await this.s.credentials.get(tenantId, id));
    });
  }

  @FieldResolver(() => Provider, { description: 'The provider this key is for.' })
  provider(@Root() c: Credential, @Ctx() ctx: GraphQLContext) {
    return ctx.loaders.provider.load(c.providerId);
  }

  @FieldResolver(() => LastValidation, {
    nullable: true,
    description:
      "The last check of the serving version (activeVersion) against the provider, if any; before a version serves, the newest version's. Other versions' checks are on versions { lastValidation }.",
  })
  lastValidation(@Root() c: Credential & { lastValidationRow?: CredentialEntity }): LastValidation | null {
    return c.lastValidationRow ? toLastValidation(c.lastValidationRow) : null;
  }

  @FieldResolver(() => [CredentialVersion], { description: "Stored versions, newest first (metadata and each one's last check)." })
  async versions(@Root() c: Credential) {
    return (await this.s.credentials.versions(c.tenantId, c.id)).map(toCredentialVersion);
  }

  @Authorized('ADMIN')
  @Mutation(() => CredentialPayload, { description: 'Store a provider key (encrypted). It is validated in the background.' })
  createCredential(@Arg('input') input: CreateCredentialInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forTenant(actor, input.tenantId, ['input', 'tenantId']);
      const created = await this.s.credentials.create(tenantId, audit, input);
      return { credential: toCredential(created) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => CredentialPayload, { description: "Change a credential's label or rotation period." })
  updateCredential(@Arg('input') input: UpdateCredentialInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'credential', input.id, ['input', 'id']);
      const updated = await this.s.credentials.update(tenantId, audit, input.id, input);
      return { credential: toCredential(updated) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => CredentialPayload, { description: 'Submit a new key; it replaces the old one once it validates.' })
  rotateCredential(@Arg('input') input: RotateCredentialInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'credential', input.id, ['input', 'id']);
      const rotated = await this.s.credentials.rotate(tenantId, audit, input.id, input.secret, input.idempotencyKey);
      return { credential: toCredential(rotated) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => CredentialPayload, {
    description: 'Check a stored key against its provider now (in the background); the status updates when the check ends.',
  })
  revalidateCredential(@Arg('input') input: RevalidateCredentialInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'credential', input.id, ['input', 'id']);
      const credential = await this.s.credentials.requestValidation(tenantId, audit, input.id);
      return { credential: toCredential(credential) };
    });
  }

  @Authorized('ADMIN')
  @Mutation(() => CredentialPayload, { description: 'Revoke a credential: its key material is destroyed and gateways reload.' })
  revokeCredential(@Arg('input') input: RevokeCredentialInput, @CurrentActor() actor: Actor, @Audit() audit: AuditActor) {
    return mutate(async () => {
      const tenantId = await this.s.scope.forObject(actor, 'credential', input.id, ['input', 'id']);
      return { credential: toCredential(await this.s.credentials.revoke(tenantId, audit, input.id)) };
    });
  }
}
