/**
 * Validates real answers and webhook bodies against the COMMITTED contracts (schema/openapi.json,
 * docs/webhooks/*.schema.json: what integrators read; `npm run contracts:check` keeps them equal
 * to the code's). JSON Schema 2020-12 with ajv, strict, formats checked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const ROOT = join(__dirname, '..', '..');
const DOC_ID = 'openapi.json';

type Obj = Record<string, any>;

export const openApiDocument: Obj = JSON.parse(readFileSync(join(ROOT, 'schema', 'openapi.json'), 'utf8'));

// discriminator: OpenAPI's keyword, which ajv checks (and which needs each branch's tag as a const).
const ajv = new Ajv2020({ allErrors: true, strict: true, discriminator: true });
addFormats(ajv);
// The document's own fields, so the whole document can be registered and its schemas referred to by pointer.
ajv.addVocabulary(['openapi', 'info', 'servers', 'tags', 'paths', 'components', 'webhooks', 'security', 'externalDocs', 'jsonSchemaDialect']);
ajv.addSchema(openApiDocument, DOC_ID);

const compiled = new Map<string, ValidateFunction>();
function validatorAt(pointer: string): ValidateFunction {
  let v = compiled.get(pointer);
  if (!v) compiled.set(pointer, (v = ajv.compile({ $ref: `${DOC_ID}#${pointer}` })));
  return v;
}

const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const describe = (v: ValidateFunction) =>
  (v.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);

/** An object of the document and its JSON pointer, with a `$ref` (to #/components/…) followed. */
function at(object: Obj, pointer: string): { object: Obj; pointer: string } {
  if (typeof object.$ref !== 'string') return { object, pointer };
  const target = object.$ref.replace(/^#/, '');
  const found = target
    .split('/')
    .slice(1)
    .reduce((o: Obj, s: string) => o?.[s.replace(/~1/g, '/').replace(/~0/g, '~')], openApiDocument);
  return at(found, target);
}

export interface ObservedResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** What is wrong with one real answer to `method path` (query string ignored), by the document; [] when it conforms. */
export function responseContractErrors(method: string, url: string, res: ObservedResponse): string[] {
  const path = new URL(url, 'http://x').pathname;
  const verb = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  const op = openApiDocument.paths?.[path]?.[verb];
  if (!op) return [`${method} ${path} is not in schema/openapi.json`];
  const opPointer = `/paths/${escape(path)}/${verb}`;
  const documented = op.responses[String(res.status)];
  if (!documented) return [`${method} ${path} answered ${res.status}, which schema/openapi.json does not list`];
  const { object: response, pointer } = at(documented, `${opPointer}/responses/${res.status}`);
  const where = `${method} ${path} ${res.status}`;
  const errors: string[] = [];

  for (const [name, h] of Object.entries<Obj>(response.headers ?? {})) {
    const { object: headerObject, pointer: headerPointer } = at(h, `${pointer}/headers/${escape(name)}`);
    const value = res.headers.get(name);
    if (value === null) {
      if (headerObject.required) errors.push(`${where}: header ${name} is missing`);
      continue;
    }
    const v = validatorAt(`${headerPointer}/schema`);
    if (!v(value)) errors.push(...describe(v).map((e) => `${where}: header ${name} ${JSON.stringify(value)}: ${e}`));
  }

  if (method.toLowerCase() === 'head') return errors;
  if (!response.content) {
    if (res.text !== '') errors.push(`${where}: a body where none is documented`);
    return errors;
  }
  const essence = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  const media = response.content[essence];
  if (!media) return [...errors, `${where}: content-type ${essence || '(none)'} is not one of ${Object.keys(response.content).join(', ')}`];
  const mediaPointer = `${pointer}/content/${escape(essence)}`;
  if (media['x-itemSchema']) {
    const lines = res.text.split('\n');
    if (lines.pop() !== '') errors.push(`${where}: the last NDJSON line does not end in a newline`);
    const v = validatorAt(`${mediaPointer}/x-itemSchema`);
    lines.forEach((line, i) => {
      if (!v(JSON.parse(line))) errors.push(...describe(v).map((e) => `${where}: line ${i + 1}: ${e}`));
    });
  } else if (essence === 'application/json') {
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      return [...errors, `${where}: the body is not JSON`];
    }
    const v = validatorAt(`${mediaPointer}/schema`);
    if (!v(body)) errors.push(...describe(v).map((e) => `${where}: body ${e}`));
  } else {
    const v = validatorAt(`${mediaPointer}/schema`);
    if (!v(res.text)) errors.push(...describe(v).map((e) => `${where}: body ${e}`));
  }
  return errors;
}

/** Throws, listing every difference, when a real answer does not conform to the document. */
export function expectResponseContract(method: string, url: string, res: ObservedResponse): void {
  const errors = responseContractErrors(method, url, res);
  if (errors.length > 0) throw new Error(`the answer breaks schema/openapi.json:\n  ${errors.join('\n  ')}`);
}

/**
 * fetch, then the answer checked against the document (throws when it does not conform). The body
 * is read once and returned as text and, for JSON, parsed.
 */
export async function contractFetch(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  expectResponseContract(init.method ?? 'GET', url, { status: res.status, headers: res.headers, text });
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json') && text ? JSON.parse(text) : null;
  return { status: res.status, headers: res.headers, text, body: json };
}

// ---- webhooks ----

const webhookValidators = new Map<string, ValidateFunction>();
function webhookValidator(type: string): ValidateFunction | null {
  if (!/^[a-z_]+\.[a-z_]+$/.test(type)) return null;
  let v = webhookValidators.get(type);
  if (!v) {
    let schema: Obj;
    try {
      schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'webhooks', `${type}.schema.json`), 'utf8'));
    } catch {
      return null;
    }
    webhookValidators.set(type, (v = ajv.compile(schema)));
  }
  return v;
}

/** What is wrong with one webhook body as sent (raw text), by docs/webhooks/<type>.schema.json; [] when it conforms. */
export function webhookContractErrors(raw: string): string[] {
  let body: Obj;
  try {
    body = JSON.parse(raw);
  } catch {
    return ['the webhook body is not JSON'];
  }
  const type = typeof body?.type === 'string' ? body.type : '';
  const v = webhookValidator(type);
  if (!v) return [`no published schema for webhook type ${JSON.stringify(type)} (docs/webhooks/)`];
  if (!v(body)) return describe(v).map((e) => `${type}: ${e}`);
  // The deprecated top-level copies must say what `data` says while they last.
  const differing = Object.keys(body.data ?? {}).filter((k) => k in body && JSON.stringify(body[k]) !== JSON.stringify(body.data[k]));
  return differing.map((k) => `${type}: top-level ${k} differs from data.${k}`);
}
