import { Field, ObjectType } from 'type-graphql';
import { DomainError, DomainErrors, USER_ERROR_CODES, type UserErrorShape } from '../errors';
import { constEnum } from './const-enum';

/** What each code means; complete by type, so a new code cannot ship undescribed. */
const USER_ERROR_CODE_DOCS: Record<(typeof USER_ERROR_CODES)[number], { description: string }> = {
  NOT_FOUND: { description: 'The object named by the field does not exist or belongs to another tenant (the two are indistinguishable).' },
  INVALID_INPUT: { description: 'A field breaks a general rule (too long, NUL characters, an unknown value); the message says which.' },
  SECRET_EMPTY: { description: 'The key is empty or only whitespace.' },
  SECRET_MULTILINE: { description: 'The key spans several lines.' },
  SECRET_INVALID_CHARACTERS: { description: 'The key contains spaces or control characters.' },
  SECRET_TOO_LONG: { description: 'The key is longer than the server accepts.' },
  KEY_FORMAT_MISMATCH: { description: 'The key does not look like a key of this provider (its format rule).' },
  KEY_BELONGS_TO_OTHER_PROVIDER: { description: "The key has another provider's prefix (e.g. an Anthropic key for OpenAI)." },
  UNKNOWN_PROVIDER: { description: 'No provider has this id.' },
  PROVIDER_DISABLED: { description: 'The provider is disabled by the platform: no new keys for it.' },
  NAME_INVALID: { description: 'The name is empty or holds characters it may not.' },
  NAME_TOO_LONG: { description: 'The name is longer than 100 characters.' },
  LABEL_INVALID: { description: 'The label is empty or holds characters it may not.' },
  LABEL_TOO_LONG: { description: 'The label is longer than 100 characters.' },
  LABEL_TAKEN: { description: 'Another credential of this tenant and provider has this label.' },
  SLUG_INVALID: { description: 'The slug is not lowercase letters, digits and hyphens (or is too long).' },
  SLUG_TAKEN: { description: 'The slug is already used (per tenant for gateways, globally for tenants).' },
  URL_INVALID: { description: 'Not an absolute http(s) URL without credentials.' },
  URL_NOT_ALLOWED: { description: 'The URL is refused by the outbound policy (https on 443 to a public address unless the operator allows more).' },
  PATTERN_INVALID: { description: 'The key pattern is not a valid regular expression (or is unsafe to run).' },
  OUT_OF_RANGE: { description: 'A number is outside its allowed range; the message gives the range.' },
  ATTACHMENT_LIMIT_REACHED: { description: 'The gateway already uses as many credentials as allowed.' },
  ALREADY_ATTACHED: { description: 'The credential is already attached to this gateway.' },
  NOT_ATTACHED: { description: 'The credential is not attached to this gateway.' },
  CREDENTIAL_REVOKED: { description: 'The credential is revoked; it cannot change or be used any more.' },
  ALREADY_REVOKED: { description: 'It was already revoked.' },
  CONFIRMATION_MISMATCH: { description: "The confirmation typed does not match (revertToPlatformKeys: the tenant's slug)." },
  DELIVERY_NOT_DEAD: { description: 'Only a dead-lettered (DEAD) delivery, or one no job will send any more, can be replayed.' },
  ALERT_RESOLVED: { description: 'The alert is resolved (its credential no longer holds the key): nothing to acknowledge or dismiss.' },
  BUILT_IN_PROVIDER_PINNED: { description: "A built-in provider's host and key rules cannot be changed." },
  HOST_CHANGED: { description: 'The provider host changed again since the one being confirmed: confirm the current one.' },
  HOST_NOT_CONFIRMED: { description: "The provider's host changed and the tenant has not confirmed it: its keys are not sent there." },
  IDEMPOTENCY_KEY_INVALID: { description: 'The idempotencyKey is empty, too long or holds control characters.' },
  IDEMPOTENCY_KEY_REUSED: { description: 'The idempotencyKey was already used by this tenant, within its 24 hours, for a different request.' },
  IDEMPOTENCY_KEY_IN_USE: { description: 'A request with the same idempotencyKey is still being processed: retry shortly.' },
  KEY_REWRAP_RUNNING: { description: 'A key rewrap is already queued or running; its job id is in the message.' },
  KEY_VERSION_IN_USE: {
    description: 'The key version cannot be retired: it is current, or records are still sealed under it. Not returned by any mutation today.',
  },
};

export const UserErrorCodeEnum = constEnum(USER_ERROR_CODES, {
  name: 'UserErrorCode',
  description:
    'Machine-readable reason for a userErrors entry. Each mutation lists in its description the codes it can return (docs/graphql-api.md, Errors).',
  valuesConfig: USER_ERROR_CODE_DOCS,
});

@ObjectType({ simpleResolvers: true, description: 'A business rule the input broke. Nothing was written when this is returned.' })
export class UserError {
  @Field(() => [String], { nullable: true, description: 'Path to the input field, e.g. ["input", "secret"].' })
  field!: string[] | null;
  @Field({ description: 'A sentence for people. Never contains a submitted secret.' }) message!: string;
  @Field(() => UserErrorCodeEnum, { description: 'A code for programs.' }) code!: string;
}

@ObjectType() // base class only: not referenced, so never emitted on its own
export abstract class Payload {
  @Field(() => [UserError], { description: 'Empty on success.' }) userErrors!: UserErrorShape[];
}

/**
 * Runs a mutation's service call and turns domain errors into userErrors. Anything else
 * (auth, bugs) propagates to formatError.
 */
export async function mutate<T extends object>(run: () => Promise<T>): Promise<Partial<T> & { userErrors: UserErrorShape[] }> {
  try {
    return { ...(await run()), userErrors: [] };
  } catch (error) {
    if (error instanceof DomainErrors) return { userErrors: error.errors } as Partial<T> & { userErrors: UserErrorShape[] };
    if (error instanceof DomainError) {
      return { userErrors: [{ field: error.field, message: error.message, code: error.code }] } as Partial<T> & {
        userErrors: UserErrorShape[];
      };
    }
    throw error;
  }
}
