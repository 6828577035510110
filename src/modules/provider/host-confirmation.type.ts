import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Payload } from '../../graphql/payload';

@ObjectType({
  simpleResolvers: true,
  description: "Where a tenant's keys of one provider may be sent, and whether that is still the provider's host.",
})
export class ProviderHostStatus {
  @Field(() => ID, { description: 'Provider id.' }) providerId!: string;
  @Field({ description: "The provider's base URL now." }) baseUrl!: string;
  @Field(() => String, { nullable: true, description: 'The base URL the tenant confirmed (its keys go only there).' })
  confirmedBaseUrl!: string | null;
  @Field(() => Date, { nullable: true, description: 'When it was confirmed (or first used by a stored key).' }) confirmedAt!: Date | null;
  @Field({ description: 'The host changed: keys of this provider are not checked or served until confirmProviderHost.' })
  awaitingConfirmation!: boolean;
  @Field(() => Int, { description: 'Keys of this provider that are not revoked.' }) liveKeys!: number;
}

@InputType({ description: "Agree that the tenant's keys of a provider go to the provider's current host." })
export class ConfirmProviderHostInput {
  @Field(() => ID, { description: 'Tenant whose keys are released.' }) tenantId!: string;
  @Field(() => ID, { description: 'Provider id.' }) providerId!: string;
  @Field({ description: "The host being confirmed, exactly as the provider's baseUrl shows it; refused (HOST_CHANGED) if it changed again." })
  baseUrl!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of confirmProviderHost.' })
export class ConfirmProviderHostPayload extends Payload {
  @Field(() => ProviderHostStatus, { nullable: true, description: 'The provider host status after the confirmation.' })
  hostStatus?: ProviderHostStatus;
}
