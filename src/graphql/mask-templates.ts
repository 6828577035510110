/*
 * The sentence shapes of graphql-js 16 (validation rules, scalar and enum coercion, variable and
 * argument values, the parser) and Apollo's operation resolution, as allow-list. A slot:
 *   %n  a quoted reference: echoed only if made of schema names
 *   %t  a bare type name: echoed only if the schema defines it
 *   %w  an operation type or directive location
 *   %k  a lexer token description: its kind is kept, a value it carries is not
 *   %v  a value or anything else the sender wrote: never echoed
 * A shape graphql-js adds later falls back to a fixed sentence until it is listed here.
 */

export type Slot = 'n' | 't' | 'w' | 'k' | 'v';

export interface Template {
  re: RegExp;
  slots: Slot[];
  /** The pattern with {1}, {2}, … for its slots: only this fixed text and the rendered slots are output. */
  render: string;
}

const SLOT_SOURCE: Record<Slot, string> = {
  n: '"([^"]{0,300})"',
  t: '([_A-Za-z][_0-9A-Za-z]{0,99})',
  w: '([A-Za-z_]{1,32})',
  k: '(<EOF>|"[^"]{1,12}"|[A-Z][A-Za-z]{1,15})(?: "[\\s\\S]*")?',
  v: '([\\s\\S]*)',
};

function template(pattern: string, render?: string): Template {
  const slots: Slot[] = [];
  const source = pattern
    .split(/(%[ntwkv])/)
    .map((part) => {
      if (!/^%[ntwkv]$/.test(part)) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      slots.push(part[1] as Slot);
      return SLOT_SOURCE[part[1] as Slot];
    })
    .join('');
  let n = 0;
  return { re: new RegExp(`^${source}$`), slots, render: render ?? pattern.replace(/%[ntwkv]/g, () => `{${++n}}`) };
}

/** Why a value does not fit a type: standalone validation errors, and the tail of a variable error. */
export const REASON_TEMPLATES: readonly Template[] = [
  template('%t cannot represent non-integer value: %v'),
  template('%t cannot represent non 32-bit signed integer value: %v'),
  template('%t cannot represent non numeric value: %v'),
  template('%t cannot represent a non string value: %v'),
  template('%t cannot represent a non boolean value: %v'),
  template('%t cannot represent a non-string and non-integer value: %v'),
  template('%t cannot represent value: %v'),
  template('Enum %n cannot represent non-enum value: %v.'),
  template('Enum %n cannot represent non-string value: %v.'),
  template('Value %n does not exist in %n enum.'),
  template('Expected type %n to be an object.'),
  template('Expected type %n.'),
  template('Field %n of required type %n was not provided.'),
  template('Field %n is not defined by type %n.'),
  template('Field %n must be non-null.'),
  template('Exactly one key must be specified for OneOf type %n.'),
  template('OneOf Input Object %n must specify exactly one key.'),
  template('Expected non-nullable type %n not to be null.'),
];

export const MESSAGE_TEMPLATES: readonly Template[] = [
  ...REASON_TEMPLATES,
  // Validation rules.
  template('Expected value of type %n, found %v', 'Expected value of type {1}, found {2}.'),
  template('Cannot query field %n on type %n.'),
  template('Unknown argument %n on field %n.'),
  template('Unknown argument %n on directive %n.'),
  template('Unknown type %n.'),
  template('Unknown fragment %n.'),
  template('Unknown directive %n.'),
  template('Directive %n may not be used on %w.'),
  template('The directive %n can only be used once at this location.'),
  template('There can be only one operation named %n.'),
  template('There can be only one fragment named %n.'),
  template('There can be only one variable named %n.'),
  template('There can be only one argument named %n.'),
  template('There can be only one input field named %n.'),
  template('This anonymous operation must be the only defined operation.'),
  template('Anonymous Subscription must select only one top level field.'),
  template('Subscription %n must select only one top level field.'),
  template('Anonymous Subscription must not select an introspection top level field.'),
  template('Subscription %n must not select an introspection top level field.'),
  template('Fragment %n is never used.'),
  template('Fragment cannot condition on non composite type %n.'),
  template('Fragment %n cannot condition on non composite type %n.'),
  template('Fragment %n cannot be spread here as objects of type %n can never be of type %n.'),
  template('Fragment cannot be spread here as objects of type %n can never be of type %n.'),
  template('Cannot spread fragment %n within itself%v', 'Cannot spread fragment {1} within itself.'),
  template('Variable %n is not defined by operation %n.'),
  template('Variable %n is not defined.'),
  template('Variable %n is never used in operation %n.'),
  template('Variable %n is never used.'),
  template('Variable %n cannot be non-input type %n.'),
  template('Variable %n of type %n used in position expecting type %n.'),
  template('Variable %n is of type %n but must be non-nullable to be used for OneOf Input Object %n.'),
  template('Field %n must not have a selection since type %n has no subfields.'),
  template('Field %n of type %n must have a selection of subfields. Did you mean %v?', 'Field {1} of type {2} must have a selection of subfields.'),
  template('Field %n of type %n must have at least one field selected.'),
  template('Field %n argument %n of type %n is required, but it was not provided.'),
  template('Directive %n argument %n of type %n is required, but it was not provided.'),
  template(
    'Fields %n conflict because %v. Use different aliases on the fields to fetch both if this was intentional.',
    'Fields {1} conflict. Use different aliases on the fields to fetch both if this was intentional.',
  ),
  template('The %n definition is not executable.'),
  template('The schema definition is not executable.'),
  template('Maximum introspection depth exceeded'),
  // Variable and argument values (execution).
  template('Variable %n expected value of type %n which cannot be used as an input type.'),
  template('Variable %n of required type %n was not provided.'),
  template('Variable %n of non-null type %n must not be null.'),
  template('Argument %n of required type %n was not provided.'),
  template('Argument %n of required type %n was provided the variable %n which was not provided a runtime value.'),
  template('Argument %n of non-null type %n must not be null.'),
  template('Argument %n has invalid value %v.'),
  // Operation resolution (graphql-js execute, reported by Apollo).
  template('Unknown operation named %n.'),
  template('Must provide operation name if query contains multiple operations.'),
  template('Must provide an operation.'),
  template('Schema is not configured to execute %w operation.'),
  // The parser and lexer.
  template('Syntax Error: Expected %k, found %k.'),
  template('Syntax Error: Unexpected %k.'),
  template('Syntax Error: Unexpected character: %v.'),
  template('Syntax Error: Invalid character: %v.'),
  template('Syntax Error: Invalid number, unexpected digit after 0: %v.'),
  template('Syntax Error: Invalid number, expected digit but got: %v.'),
  template('Syntax Error: Invalid character within String: %v.'),
  template('Syntax Error: Invalid Unicode escape sequence: %v.'),
  template('Syntax Error: Invalid character escape sequence: %v.'),
  template('Syntax Error: Unterminated string.'),
  template('Syntax Error: Unexpected single quote character (\'), did you mean to use a double quote (")?'),
  template('Syntax Error: Unexpected variable %n in constant value.'),
  template('Syntax Error: Unexpected description, descriptions are not supported on shorthand queries.'),
  template('Syntax Error: Unexpected description, only GraphQL definitions support descriptions.'),
];
