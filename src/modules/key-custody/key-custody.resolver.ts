import { Arg, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import { orNull } from '../../graphql/lookup';
import { Audit } from '../../graphql/params';
import { mutate } from '../../graphql/payload';
import type { Services } from '../../services';
import type { AuditActor } from '../auth/actor';
import {
  KeyCustody,
  KeyRewrapStatus,
  PepperRekeyStatus,
  StartKeyRewrapInput,
  StartKeyRewrapPayload,
  StartPepperRekeyInput,
  StartPepperRekeyPayload,
} from './key-custody.type';

export type KeyCustodyResolverDeps = Pick<Services, 'keyCustody' | 'pepperRekeys'>;

@Resolver()
export class KeyCustodyResolver {
  constructor(private readonly s: KeyCustodyResolverDeps) {}

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => StartKeyRewrapPayload, {
    description: 'Rewrap every sealed record to the current master key version, in the background (platform admins only).',
  })
  startKeyRewrap(@Audit() audit: AuditActor, @Arg('input', () => StartKeyRewrapInput, { nullable: true }) input?: StartKeyRewrapInput) {
    return mutate(() => this.s.keyCustody.startRewrap(audit, input?.reason));
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => KeyRewrapStatus, {
    nullable: true,
    description: 'Progress of a master key rewrap (platform admins only); null for an unknown job id.',
  })
  keyRewrap(@Arg('jobId', () => ID) jobId: string) {
    return orNull(() => this.s.keyCustody.rewrapStatus(jobId));
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => KeyCustody, { description: 'Master key versions, records sealed under each, and running rewraps (platform admins only).' })
  keyCustody() {
    return this.s.keyCustody.custody();
  }

  @Authorized('PLATFORM_ADMIN')
  @Mutation(() => StartPepperRekeyPayload, {
    description: 'Recompute every stored key fingerprint under the current fingerprint pepper version, in the background (platform admins only).',
  })
  startPepperRekey(@Audit() audit: AuditActor, @Arg('input', () => StartPepperRekeyInput, { nullable: true }) input?: StartPepperRekeyInput) {
    return mutate(() => this.s.pepperRekeys.start(audit, input?.reason));
  }

  @Authorized('PLATFORM_ADMIN')
  @Query(() => PepperRekeyStatus, {
    nullable: true,
    description: 'Progress of a fingerprint pepper rekey (platform admins only); null for an unknown job id.',
  })
  pepperRekey(@Arg('jobId', () => ID) jobId: string) {
    return orNull(() => this.s.pepperRekeys.status(jobId));
  }
}
