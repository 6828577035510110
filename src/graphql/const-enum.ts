import { registerEnumType } from 'type-graphql';

export type ConstEnum<T extends string> = { [K in T]: K };

/**
 * A GraphQL enum over a const array shared with the entities (type-graphql wants an object),
 * registered beside the type that owns it.
 */
export function constEnum<T extends string>(
  values: readonly T[],
  config: { name: string; description: string; valuesConfig?: Partial<Record<T, { description: string; deprecationReason?: string }>> },
): ConstEnum<T> {
  const enumObj = Object.fromEntries(values.map((v) => [v, v])) as ConstEnum<T>;
  registerEnumType(enumObj, config);
  return enumObj;
}
