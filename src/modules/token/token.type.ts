import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { Node } from '../../graphql/node';
import { ConnectionType } from '../../graphql/connection';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import { TENANT_ROLES, type TenantRole } from './token.entity';

export const TenantRoleEnum = constEnum(TENANT_ROLES, {
  name: 'TenantRole',
  description: 'ADMIN manages keys and gateways; VIEWER reads metadata.',
  valuesConfig: {
    ADMIN: { description: "Manages the tenant's keys, gateways and tokens." },
    VIEWER: { description: "Reads the tenant's metadata; changes nothing." },
  },
});

@ObjectType({ simpleResolvers: true, implements: Node, description: "A tenant API token's metadata. The token itself is shown once, at creation." })
export class ApiToken {
  @Field(() => ID, { description: 'Token id.' }) id!: string;
  @Field(() => ID, { description: 'Owning tenant.' }) tenantId!: string;
  @Field({ description: 'What the token is for.' }) name!: string;
  @Field(() => TenantRoleEnum, { description: 'What the token may do.' }) role!: TenantRole;
  @Field({ description: 'Prefix and last characters, e.g. kp_…AbCd.' }) redactedToken!: string;
  @Field({ description: 'When the token was created.' }) createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'Last use, to the minute.' }) lastUsedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When the token was revoked.' }) revokedAt!: Date | null;
}

export const ApiTokenConnection = ConnectionType(ApiToken, 'ApiToken');

@InputType({ description: 'A new API token for a tenant.' })
export class CreateApiTokenInput {
  @Field(() => ID, { description: 'Tenant the token acts for.' }) tenantId!: string;
  @Field({ description: 'What the token is for, up to 100 characters.' }) name!: string;
  @Field(() => TenantRoleEnum, { description: 'ADMIN or VIEWER.' }) role!: TenantRole;
}

@InputType({ description: 'The token to revoke.' })
export class RevokeApiTokenInput {
  @Field(() => ID, { description: 'Token id.' }) id!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of createApiToken.' })
export class CreateApiTokenPayload extends Payload {
  @Field(() => ApiToken, { nullable: true, description: 'The token metadata.' }) apiToken?: ApiToken;
  @Field(() => String, { nullable: true, description: 'The bearer token. Shown once: store it now.' }) token?: string;
}

@ObjectType({ simpleResolvers: true, description: 'Result of revokeApiToken.' })
export class RevokeApiTokenPayload extends Payload {
  @Field(() => ApiToken, { nullable: true, description: 'The revoked token.' }) apiToken?: ApiToken;
}
