import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, Kind, parse, validate, type DocumentNode, type GraphQLSchema, type SelectionSetNode, type ValidationRule } from 'graphql';

/** Every request limit, from config (GRAPHQL_MAX_*). */
export interface RequestLimits {
  documentBytes: number;
  tokens: number;
  aliases: number;
  directives: number;
  depth: number;
  introspectionDepth: number;
  selections: number;
  fragmentDepth: number;
}

export type LimitName = keyof RequestLimits;

/**
 * A document over one of the limits: HTTP 400, code QUERY_TOO_COMPLEX, the limit's name and
 * maximum in extensions. The message holds only numbers we chose, never text from the document.
 */
export class RequestLimitError extends GraphQLError {
  constructor(
    readonly limit: LimitName,
    max: number,
    found?: number,
  ) {
    super(`${LABELS[limit]}${found === undefined ? '' : ` ${found}`} exceeds the maximum of ${max}.`, {
      extensions: { code: 'QUERY_TOO_COMPLEX', limit, max, http: { status: 400 } },
    });
  }
}

const LABELS: Record<LimitName, string> = {
  documentBytes: 'Document size in bytes',
  tokens: 'Token count',
  aliases: 'Alias count',
  directives: 'Directive count',
  depth: 'Query depth',
  introspectionDepth: 'Introspection depth',
  selections: 'Selection count (fragments expanded)',
  fragmentDepth: 'Fragment nesting',
};

/** Documents that passed, by their text: the common case (a client's fixed queries) costs one lookup. */
const ACCEPTED_MAX_ENTRIES = 2_000;
const ACCEPTED_MAX_KEY_LENGTH = 16 * 1024;

/**
 * The checks that run before a document reaches Apollo's (or graphql-ws's) validation: each costs
 * at most one pass over the parsed document, and fragments are measured once each (memoized), so
 * a small document whose fragments spread each other many times over is refused in microseconds
 * instead of being expanded by the spec's validation rules. Aliases, directives and depth are
 * graphql-armor's rules; what armor lacks (expanded selections, fragment nesting, introspection
 * depth, document bytes) is ours; the token limit is graphql-js's own parser option.
 */
export function createRequestGuard(schema: GraphQLSchema, limits: RequestLimits, transport: 'http' | 'websocket' = 'http') {
  const reject = (limit: LimitName, found?: number): never => {
    throw new RequestLimitError(limit, limits[limit], found);
  };
  // armor's message ends in "…exceeded, found N." (numbers only): keep N, drop the rest.
  const armorReject = (limit: LimitName) => (_ctx: unknown, error: Error) => {
    const found = /found (\d+)\.?$/.exec(error.message)?.[1];
    reject(limit, found === undefined ? undefined : Number(found));
  };
  const armor = new ApolloArmor({
    // Field suggestions: Apollo's own hideSchemaDetailsFromClientErrors (server.ts) strips them whole.
    blockFieldSuggestion: { enabled: false },
    costLimit: { enabled: false }, // graphql-query-complexity prices `first`: see limits.ts
    maxTokens: { enabled: false }, // graphql-js's parser counts tokens itself (parse option below)
    // __typename is no exception: 10,000 aliases of it are 10,000 fields to merge-check.
    maxAliases: { n: limits.aliases, allowList: [], onReject: [armorReject('aliases')] },
    maxDirectives: { n: limits.directives, onReject: [armorReject('directives')] },
    maxDepth: { n: limits.depth, flattenFragments: true, ignoreIntrospection: true, onReject: [armorReject('depth')] },
  });
  const rules = armor.protect().validationRules as ValidationRule[];
  const accepted = new Map<string, true>();

  return function check(source: unknown): void {
    if (typeof source !== 'string') return; // Apollo answers a missing query itself
    if (accepted.has(source)) return;
    if (source.length > limits.documentBytes || Buffer.byteLength(source) > limits.documentBytes) reject('documentBytes', Buffer.byteLength(source));
    let document: DocumentNode;
    try {
      document = parse(source, { maxTokens: limits.tokens, noLocation: true });
    } catch (error) {
      if (error instanceof GraphQLError && /contains more \w+ \d+ tokens/.test(error.message)) reject('tokens');
      return; // a syntax error: the executor reports it as usual (masked by formatError)
    }
    // Over HTTP a subscription is never served; refused here, before graphql-js's subscription rule
    // (which throws, rather than reports, on a bad top-level directive literal) turns it into a 500.
    if (transport === 'http' && document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'subscription')) {
      throw new GraphQLError('Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.', {
        extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
      });
    }
    const shape = measure(document);
    if (shape.fragmentDepth > limits.fragmentDepth) reject('fragmentDepth', shape.fragmentDepth);
    if (shape.selections > limits.selections) reject('selections', shape.selections);
    if (shape.introspectionDepth > limits.introspectionDepth) reject('introspectionDepth', shape.introspectionDepth);
    validate(schema, document, rules);
    if (source.length <= ACCEPTED_MAX_KEY_LENGTH) {
      if (accepted.size >= ACCEPTED_MAX_ENTRIES) accepted.clear();
      accepted.set(source, true);
    }
  };
}

export interface DocumentShape {
  /** Fields, inline fragments and spreads, with every spread counted as its fragment's content. */
  selections: number;
  /** The longest chain of fragments spreading fragments. */
  fragmentDepth: number;
  /** The deepest field nesting below a __schema or __type field, through fragments. */
  introspectionDepth: number;
}

interface FragmentShape {
  selections: number;
  fragmentDepth: number;
  /** Field depth of the content, every field counted (introspection's included). */
  depth: number;
  introspectionDepth: number;
}

/**
 * One memoized pass per fragment. A cycle counts as empty here (the spec's NoFragmentCycles rule
 * refuses it later), so measuring always ends. Counts saturate rather than grow without bound.
 */
export function measure(document: DocumentNode): DocumentShape {
  const fragments = new Map<string, SelectionSetNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def.selectionSet);
  const memo = new Map<string, FragmentShape | null>();
  const EMPTY: FragmentShape = { selections: 0, fragmentDepth: 0, depth: 0, introspectionDepth: 0 };
  const cap = (n: number) => Math.min(n, Number.MAX_SAFE_INTEGER);

  const fragment = (name: string): FragmentShape => {
    const known = memo.get(name);
    if (known !== undefined) return known ?? EMPTY;
    const set = fragments.get(name);
    if (!set) return EMPTY;
    memo.set(name, null); // in progress: a spread back to it is a cycle
    // Measured once, outside introspection: spread below __schema, its whole field depth counts.
    const shape = selectionSet(set, false);
    memo.set(name, shape);
    return shape;
  };

  // `introspecting`: this set lies below __schema/__type, so its field depth is introspection depth.
  const selectionSet = (set: SelectionSetNode, introspecting: boolean): FragmentShape => {
    const out = { selections: 0, fragmentDepth: 0, depth: 0, introspectionDepth: 0 };
    for (const sel of set.selections) {
      out.selections = cap(out.selections + 1);
      if (sel.kind === Kind.FIELD) {
        const entering = introspecting || sel.name.value === '__schema' || sel.name.value === '__type';
        const child = sel.selectionSet ? selectionSet(sel.selectionSet, entering) : EMPTY;
        out.selections = cap(out.selections + child.selections);
        out.fragmentDepth = Math.max(out.fragmentDepth, child.fragmentDepth);
        out.depth = Math.max(out.depth, 1 + child.depth);
        out.introspectionDepth = Math.max(out.introspectionDepth, entering ? 1 + child.introspectionDepth : child.introspectionDepth);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const child = selectionSet(sel.selectionSet, introspecting);
        out.selections = cap(out.selections + child.selections);
        out.fragmentDepth = Math.max(out.fragmentDepth, child.fragmentDepth);
        out.depth = Math.max(out.depth, child.depth);
        out.introspectionDepth = Math.max(out.introspectionDepth, child.introspectionDepth);
      } else {
        const child = fragment(sel.name.value);
        out.selections = cap(out.selections + child.selections);
        out.fragmentDepth = Math.max(out.fragmentDepth, 1 + child.fragmentDepth);
        out.depth = Math.max(out.depth, child.depth);
        out.introspectionDepth = Math.max(out.introspectionDepth, introspecting ? child.depth : child.introspectionDepth);
      }
    }
    return out;
  };

  const shape: DocumentShape = { selections: 0, fragmentDepth: 0, introspectionDepth: 0 };
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const op = selectionSet(def.selectionSet, false);
    shape.selections = cap(shape.selections + op.selections);
    shape.fragmentDepth = Math.max(shape.fragmentDepth, op.fragmentDepth);
    shape.introspectionDepth = Math.max(shape.introspectionDepth, op.introspectionDepth);
  }
  return shape;
}
