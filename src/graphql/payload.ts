import { Field, ObjectType } from 'type-graphql';
import { DomainError, DomainErrors, USER_ERROR_CODES, type UserErrorShape } from '../errors';
import { constEnum } from './const-enum';

export const UserErrorCodeEnum = constEnum(USER_ERROR_CODES, {
  name: 'UserErrorCode',
  description: 'Machine-readable reason for a userErrors entry.',
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
