import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import { constEnum } from '../../graphql/const-enum';
import { Payload } from '../../graphql/payload';
import { API_SHAPES, AUTH_SCHEMES, KEY_TEST_OUTCOMES, type ApiShape, type AuthScheme, type KeyTestOutcome } from '../../providers/types';

export const ApiShapeEnum = constEnum(API_SHAPES, {
  name: 'ApiShape',
  description: 'The HTTP API family a provider speaks; picks the validator.',
  valuesConfig: {
    ANTHROPIC: { description: 'The Anthropic Messages API (x-api-key, anthropic-version).' },
    GEMINI: { description: "Google's Gemini API (generativelanguage.googleapis.com)." },
    OPENAI: { description: 'The OpenAI API, or one shaped like it (Groq, Mistral, xAI and other OpenAI-compatible hosts).' },
    OPENROUTER: { description: 'OpenRouter (its key check is GET /api/v1/key).' },
  },
});
export const AuthSchemeEnum = constEnum(AUTH_SCHEMES, {
  name: 'AuthScheme',
  description: 'The header a provider expects the key in.',
  valuesConfig: {
    BEARER: { description: 'Authorization: Bearer <key>.' },
    X_API_KEY: { description: 'x-api-key: <key> (Anthropic).' },
    X_GOOG_API_KEY: { description: 'x-goog-api-key: <key> (Google).' },
  },
});
export const KeyTestOutcomeEnum = constEnum(KEY_TEST_OUTCOMES, {
  name: 'KeyTestOutcome',
  description: 'The result of checking a key against its provider.',
  valuesConfig: {
    VALID: { description: 'The provider accepted the key.' },
    INVALID: { description: 'The provider rejected the key.' },
    VALID_NO_QUOTA: { description: 'The key works but the account has no quota or credit.' },
    VALID_RESTRICTED: { description: 'The key works but is restricted (scope, organization, IP or region).' },
    RATE_LIMITED: { description: 'The provider rate-limited the check; try again later.' },
    PROVIDER_UNAVAILABLE: { description: 'The provider failed, was overloaded or did not answer in time.' },
    UNKNOWN: { description: 'The provider answered in a way we could not classify.' },
  },
});

@ObjectType({ simpleResolvers: true, description: 'An AI provider in the catalog, with the rule its keys must match.' })
export class Provider {
  @Field(() => ID, { description: 'Provider id.' }) id!: string;
  @Field({ description: 'Stable identifier, e.g. openai.' }) slug!: string;
  @Field({ description: 'Display name.' }) name!: string;
  @Field({ description: 'API root the key is checked against.' }) baseUrl!: string;
  @Field(() => AuthSchemeEnum, { description: 'Header the key is sent in.' }) authScheme!: AuthScheme;
  @Field(() => ApiShapeEnum, { description: 'API family, which decides how a key is checked.' }) apiShape!: ApiShape;
  @Field(() => [String], { description: 'Public key prefixes, used in redacted hints.' }) keyPrefixes!: string[];
  @Field({ description: 'Regular expression a key must match (lenient; the live check decides).' }) keyPattern!: string;
  @Field({ description: 'Seeded by Keyplane rather than added by an admin.' }) builtIn!: boolean;
  @Field({ description: 'Disabled providers accept no new keys.' }) enabled!: boolean;
  @Field({ description: 'When the provider was added.' }) createdAt!: Date;
  @Field({ description: 'When the provider was last changed.' }) updatedAt!: Date;
}

@InputType({ description: 'Create a provider, or change one by slug. Omitted fields stay as they are.' })
export class UpsertProviderInput {
  @Field({ description: 'Provider slug; creates the provider if it does not exist.' }) slug!: string;
  @Field(() => String, { nullable: true, description: 'Display name (required to create).' }) name?: string | null;
  @Field(() => String, { nullable: true, description: 'API root URL (required to create); must pass the outbound policy, else URL_NOT_ALLOWED.' })
  baseUrl?: string | null;
  @Field(() => AuthSchemeEnum, { nullable: true, description: 'Required to create.' }) authScheme?: AuthScheme | null;
  @Field(() => ApiShapeEnum, { nullable: true, description: 'Required to create.' }) apiShape?: ApiShape | null;
  @Field(() => [String], { nullable: true, description: 'Public key prefixes.' }) keyPrefixes?: string[] | null;
  @Field(() => String, { nullable: true, description: 'Key format rule (required to create).' }) keyPattern?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Enable or disable the provider.' }) enabled?: boolean | null;
}

@ObjectType({ simpleResolvers: true, description: 'Result of upsertProvider.' })
export class UpsertProviderPayload extends Payload {
  @Field(() => Provider, { nullable: true, description: 'The provider after the change.' }) provider?: Provider;
}

@InputType({ description: 'A key to check against its provider. It is not stored.' })
export class TestProviderKeyInput {
  @Field(() => ID, { description: 'Provider id.' }) providerId!: string;
  @Field({ description: 'The key. Write-only: never returned, logged or stored.' }) secret!: string;
}

@ObjectType({ simpleResolvers: true, description: 'What the provider said about a key.' })
export class KeyTestResult {
  @Field(() => KeyTestOutcomeEnum, { description: 'The typed outcome.' }) outcome!: KeyTestOutcome;
  @Field(() => [String], { description: 'Models the key can list, when the provider said.' }) models!: string[];
  @Field(() => Int, {
    description: 'Entries of the provider list that were not kept: malformed, over the limit, or holding part of the key.',
  })
  modelsDropped!: number;
  @Field({ description: 'A sentence for people; never contains the key.' }) message!: string;
  @Field(() => Int, { nullable: true, description: 'HTTP status from the provider; null on timeout.' }) httpStatus!: number | null;
  @Field(() => Float, { nullable: true, description: 'Seconds the provider asked us to wait.' })
  retryAfterSeconds!: number | null;
  @Field(() => Int, { description: 'How long the check took.' }) latencyMs!: number;
  @Field({ description: 'True when this tenant tested the same key moments ago and that answer was reused (no provider call).' })
  cached!: boolean;
}

@ObjectType({ simpleResolvers: true, description: 'Result of testProviderKey.' })
export class TestProviderKeyPayload extends Payload {
  @Field(() => KeyTestResult, { nullable: true, description: 'The outcome, when the input was well-formed.' })
  result?: KeyTestResult;
}
