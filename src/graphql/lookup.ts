import { DomainError } from '../errors';

/**
 * A single-object lookup (`credential(id:)`, `node(id:)` ...): NOT_FOUND becomes null. A random id
 * and another tenant's id both answer null, indistinguishable (the services already word them
 * alike); a root field that errors instead would null its non-null siblings too. Other errors
 * (FORBIDDEN, bad input, faults) still surface as errors.
 */
export async function orNull<T>(run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DomainError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

/** The description tail every nullable lookup shares (docs/graphql-api.md, "Lookups"). */
export const NULL_WHEN_MISSING = 'Null when no such object exists or it belongs to another tenant (the two are indistinguishable).';
