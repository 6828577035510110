import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Payload } from '../../graphql/payload';

@ObjectType({ simpleResolvers: true, description: 'A provider key owned by the platform, served to BUNDLED and HYBRID gateways. Write-only.' })
export class PlatformKey {
  @Field(() => ID, { description: 'Platform key id.' }) id!: string;
  @Field({ description: 'Display label.' }) label!: string;
  @Field(() => Int, { description: 'Order among platform keys of the same provider (lower first).' }) priority!: number;
  @Field({ description: 'Redacted hint, e.g. sk-proj-…AbCd.' }) redactedKey!: string;
  @Field({ description: 'When the key was added.' }) createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When the key was revoked; its material is then destroyed.' })
  revokedAt!: Date | null;
  providerId!: string;
}

@InputType({ description: 'A new platform key.' })
export class CreatePlatformKeyInput {
  @Field(() => ID, { description: 'Provider id.' }) providerId!: string;
  @Field({ description: 'Display label, up to 100 characters.' }) label!: string;
  @Field({ description: 'The key. Write-only: never returned or logged.' }) secret!: string;
  @Field(() => Int, { nullable: true, description: "Order among this provider's platform keys (0-1000, lower first); default last." })
  priority?: number | null;
}

@InputType({ description: 'The platform key to revoke.' })
export class RevokePlatformKeyInput {
  @Field(() => ID, { description: 'Platform key id.' }) id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of a platform key mutation.' })
export class PlatformKeyPayload extends Payload {
  @Field(() => PlatformKey, { nullable: true, description: 'The platform key after the change.' }) platformKey?: PlatformKey;
}
