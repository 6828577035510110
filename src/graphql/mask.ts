import { DirectiveLocation, isEnumType, isInputObjectType, isInterfaceType, isObjectType, specifiedScalarTypes, type GraphQLSchema } from 'graphql';
import { MESSAGE_TEMPLATES, REASON_TEMPLATES, type Slot, type Template } from './mask-templates';

/*
 * graphql-js quotes what a sender typed in its validation, coercion and syntax messages: literal
 * values, but also field, argument, variable, operation and fragment names, and any of those can be
 * a pasted key. So a message that reaches a client or a log is rebuilt, never trimmed: it must match
 * one of the known sentence shapes in mask-templates.ts, whose fixed wording is kept; each slot in it
 * is echoed only when it is made of names the schema itself defines, and anything else becomes "…".
 * A message of no known shape is replaced by a fixed sentence. The output therefore holds nothing
 * but our wording and schema names, whatever the input was.
 */

export const MASK = '…';
/** Bound on the '; ' splits tried in a variable coercion message (its value can hold many). */
const MAX_REASON_SPLITS = 32;

const KEYWORDS = new Set([
  'on',
  'fragment',
  'query',
  'mutation',
  'subscription',
  'true',
  'false',
  'null',
  'extend',
  'schema',
  'scalar',
  'type',
  'interface',
  'union',
  'enum',
  'input',
  'directive',
  'implements',
  'repeatable',
]);
const TOKEN_KINDS = new Set(['Name', 'String', 'BlockString', 'Int', 'Float', 'Comment', '<EOF>', '<SOF>']);
const WORDS = new Set<string>([...Object.values(DirectiveLocation), 'query', 'mutation', 'subscription']);

const namesBySchema = new WeakMap<GraphQLSchema, ReadonlySet<string>>();

/** Every name the schema defines (never anything a request sent): the only names a message may echo. */
export function schemaNames(schema: GraphQLSchema): ReadonlySet<string> {
  const known = namesBySchema.get(schema);
  if (known) return known;
  const names = new Set<string>(['__typename', '__schema', '__type', ...specifiedScalarTypes.map((t) => t.name)]);
  for (const type of Object.values(schema.getTypeMap())) {
    names.add(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        names.add(field.name);
        for (const arg of field.args) names.add(arg.name);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) names.add(field.name);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) names.add(value.name);
    }
  }
  for (const directive of schema.getDirectives()) {
    names.add(directive.name);
    for (const arg of directive.args) names.add(arg.name);
  }
  namesBySchema.set(schema, names);
  return names;
}

/** A quoted reference ("Query.tenant", "[ID!]!", "$input", "@include", "Query.tenant(id:)") made only of schema names. */
function quoted(content: string, names: ReadonlySet<string>): string {
  const parts = content.match(/[_A-Za-z][_0-9A-Za-z]*/g);
  // What is left around the names may only be punctuation and list indices (a coercion path).
  const rest = content.replace(/[_A-Za-z][_0-9A-Za-z]*/g, '').replace(/\[\d{1,9}\]/g, '');
  const safe = content.length <= 300 && parts !== null && parts.every((p) => names.has(p)) && /^[$@]?[.[\]!():]*$/.test(rest);
  return safe ? `"${content}"` : `"${MASK}"`;
}

/** How a lexer token was described: its kind stays, a value it carried never does. */
function token(desc: string): string {
  if (TOKEN_KINDS.has(desc)) return desc;
  const inner = /^"(.{1,12})"$/.exec(desc)?.[1];
  if (inner !== undefined && (KEYWORDS.has(inner) || /^(?:[!$&()[\]{}|:=@]|\.\.\.)$/.test(inner))) return desc;
  return MASK;
}

function renderSlot(slot: Slot, value: string, names: ReadonlySet<string>): string {
  switch (slot) {
    case 'n':
      return quoted(value, names);
    case 't':
      return names.has(value) ? value : MASK;
    case 'w':
      return WORDS.has(value) ? value : MASK;
    case 'k':
      return token(value);
    case 'v':
      return MASK;
  }
}

function render(template: Template, match: RegExpExecArray, names: ReadonlySet<string>): string {
  return template.render.replace(/\{(\d)\}/g, (_, i: string) => renderSlot(template.slots[Number(i) - 1], match[Number(i)], names));
}

const SUGGESTION = / Did you mean (to use an inline fragment on |the enum value )?((?:"[_A-Za-z0-9.$@]{1,200}"(?:, |,? or )?){1,5})\?$/;

/** graphql-js's " Did you mean …?" tail: only its names that the schema defines are kept. */
function splitSuggestions(message: string, names: ReadonlySet<string>): { body: string; tail: string } {
  const m = SUGGESTION.exec(message);
  if (!m) return { body: message, tail: '' };
  const kept = [...m[2].matchAll(/"([^"]+)"/g)].map((q) => q[1]).filter((n) => quoted(n, names) !== `"${MASK}"`);
  const list = kept.map((n) => `"${n}"`);
  const joined = list.length <= 2 ? list.join(' or ') : `${list.slice(0, -1).join(', ')}, or ${list.at(-1)}`;
  return { body: message.slice(0, m.index), tail: kept.length > 0 ? ` Did you mean ${m[1] ?? ''}${joined}?` : '' };
}

function matchAny(message: string, templates: readonly Template[], names: ReadonlySet<string>): string | null {
  const { body, tail } = splitSuggestions(message, names);
  for (const template of templates) {
    const match = template.re.exec(body);
    if (match) return render(template, match, names) + tail;
  }
  return null;
}

/**
 * `Variable "$x" got invalid value <the value> at "x.y"; <reason>`: the value is printed whole and
 * has no safe end, so the reason is found from the right, as the longest tail of a known shape.
 */
function variableMessage(message: string, names: ReadonlySet<string>): string | null {
  const head = /^Variable "\$([^"]{1,200})" got invalid value /.exec(message);
  if (!head) return null;
  const variable = quoted(`$${head[1]}`, names);
  const rest = message.slice(head[0].length);
  let at = rest.length;
  for (let tries = 0; tries < MAX_REASON_SPLITS; tries++) {
    at = rest.lastIndexOf('; ', at - 1);
    if (at < 0) break;
    const reason = matchAny(rest.slice(at + 2), REASON_TEMPLATES, names);
    if (reason === null) continue;
    const path = / at "([^"]{1,300})"$/.exec(rest.slice(0, at))?.[1];
    return `Variable ${variable} got an invalid value${path ? ` at ${quoted(path, names)}` : ''}; ${reason}`;
  }
  return `Variable ${variable} got an invalid value.`;
}

/**
 * The message a client (and a log) may see for a graphql-js or Apollo request error: rebuilt from
 * a known shape and schema names, or `fallback` when it has no known shape.
 */
export function maskMessage(message: string, names: ReadonlySet<string>, fallback: string): string {
  return variableMessage(message, names) ?? matchAny(message, MESSAGE_TEMPLATES, names) ?? fallback;
}
