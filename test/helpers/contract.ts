// Holds the server to its published contract: every response a test receives through TestApp's
// inject is checked against the checked-in openapi.yaml. The path template and the method must be
// documented, the status must be documented for that operation, and a JSON body must validate
// against the schema of that status and media type. Other bodies (HTML, YAML, SVG) are checked by
// media type only; empty bodies by status.
import { AssertionError } from 'node:assert';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { OPENAPI_FILE } from '../../src/surfaces/ops/routes.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Method = (typeof METHODS)[number];

// The parts of an OpenAPI 3.1 document this check reads.
interface ResponseObject {
  content?: Record<string, { schema?: unknown }>;
}
interface Operation {
  responses?: Record<string, ResponseObject>;
}
type PathItem = Partial<Record<Method, Operation>>;
interface Document {
  paths?: Record<string, PathItem | undefined>;
  components?: { schemas?: Record<string, unknown> };
}

interface Template {
  path: string;
  segments: readonly (string | null)[];
  item: PathItem;
}

interface Contract {
  templates: readonly Template[];
  validator: (schema: unknown) => ValidateFunction;
}

const COMPONENTS_ID = 'urn:dcs:components';

/**
 * Answers the server gives that the document does not yet describe, in routes this checker's
 * authors may not edit. Each entry is a gap to close in the route's schema, then to delete here.
 */
const KNOWN_GAPS: readonly { method: string; path: string; status: number; why: string }[] = [];

let loaded: Promise<Contract> | undefined;

/** The document, parsed once per test process (each test file runs in its own). */
function contract(): Promise<Contract> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Contract> {
  // parse (not validate, which dereferences in place): the $refs are resolved by Ajv below.
  const doc = await SwaggerParser.parse(OPENAPI_FILE) as unknown as Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
  // The component schemas become $defs of one schema, and every $ref points into it.
  const retarget = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(retarget);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')
        ? `${COMPONENTS_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`
        : retarget(v)]));
  };
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: retarget(doc.components?.schemas ?? {}) });
  const compiled = new WeakMap<object, ValidateFunction>();
  const templates = Object.entries(doc.paths ?? {}).flatMap(([path, item]) => item === undefined ? [] : [{
    path,
    segments: path.split('/').slice(1).map((s) => (/^\{[^}]+\}$/.test(s) ? null : s)),
    item,
  }]);
  return {
    templates,
    validator: (schema) => {
      if (schema === null || typeof schema !== 'object') return ajv.compile(schema as boolean);
      let v = compiled.get(schema);
      if (v === undefined) {
        v = ajv.compile(retarget(schema) as object);
        compiled.set(schema, v);
      }
      return v;
    },
  };
}

/** The path as the router sees it: no query, duplicate and trailing slashes ignored (app.ts routerOptions). */
function routedPath(url: string): string {
  const path = (url.split(/[?#]/)[0] ?? '').replace(/\/{2,}/g, '/');
  return path.length > 1 ? path.replace(/\/$/, '') : path;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The documented template a concrete path falls under; a static segment beats a parameter, as in find-my-way. */
function templateOf(templates: readonly Template[], path: string): Template | undefined {
  const segments = path.split('/').slice(1).map(decoded);
  const matches = templates.filter((t) => t.segments.length === segments.length
    && t.segments.every((s, i) => (s === null ? (segments[i] ?? '') !== '' : s === segments[i])));
  const rank = (t: Template) => t.segments.map((s) => (s === null ? '1' : '0')).join('');
  return matches.sort((a, b) => rank(a).localeCompare(rank(b)))[0];
}

function responseFor(op: Operation, status: number): ResponseObject | undefined {
  const responses = op.responses ?? {};
  return responses[String(status)] ?? responses[`${String(status).charAt(0)}XX`] ?? responses.default;
}

function mediaTypeOf(res: LightMyRequestResponse): string | undefined {
  const header = res.headers['content-type'];
  return typeof header === 'string' ? header.split(';')[0]?.trim().toLowerCase() : undefined;
}

const isJson = (type: string) => type === 'application/json' || type.endsWith('+json');

function explain(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `  ${e.instancePath || '(body)'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`).join('\n');
}

export interface CheckedRequest {
  method: string;
  url: string;
}

/** Method and URL of an inject call, with light-my-request's defaults (GET, /). */
export function requestOf(opts: InjectOptions): CheckedRequest {
  const where = opts.url ?? opts.path ?? '/';
  return { method: opts.method ?? 'GET', url: typeof where === 'string' ? where : where.pathname };
}

/** Throws an AssertionError naming the method, the path, the status and what does not match. */
export async function checkResponse(request: CheckedRequest, res: LightMyRequestResponse): Promise<void> {
  const { templates, validator } = await contract();
  const method = request.method.toLowerCase();
  const path = routedPath(request.url);
  const template = templateOf(templates, path);
  const fail = (why: string): never => {
    const where = template === undefined || template.path === path ? path : `${path} (${template.path})`;
    throw new AssertionError({ message: `openapi.yaml: ${request.method} ${where} answered ${res.statusCode}: ${why}\n  body: ${res.body.slice(0, 300)}` });
  };
  const gap = template && KNOWN_GAPS.find((g) => g.method === method && g.path === template.path && g.status === res.statusCode);
  if (gap !== undefined) return;
  // Unknown paths (no documented template) are the only responses outside the document: a 404 from
  // a not-found handler (or a framework error) for a path no route serves cannot be documented.
  if (template === undefined) return;
  // HEAD is GET without a body (RFC 9110 §9.3.2); Fastify exposes it for every GET route.
  const documented = (m: string) => (METHODS.includes(m as Method) ? template.item[m as Method] : undefined);
  const op = documented(method) ?? (method === 'head' ? documented('get') : undefined);
  let response: ResponseObject | undefined;
  if (op !== undefined) {
    response = responseFor(op, res.statusCode);
    if (response === undefined) fail(`status ${res.statusCode} is not documented for ${method.toUpperCase()} ${template.path}`);
  } else {
    // A method the path does not document has no route: the path's front end refuses it (405 from a
    // hidden methodNotAllowed route, a rate limit, …) in the shape the path's operations document
    // for that status. Only a 404 with no documented shape passes unchecked: no route serves this
    // method here, which is the unknown-path case below.
    if (res.statusCode < 400) fail(`${method.toUpperCase()} is not documented for ${template.path}, yet it was not refused`);
    const ops = METHODS.map((m) => template.item[m]).filter((o): o is Operation => o !== undefined);
    response = ops.map((o) => responseFor(o, res.statusCode)).find((r) => r !== undefined);
    if (response === undefined && res.statusCode === 404) return;
    if (response === undefined) fail(`${method.toUpperCase()} is not documented for ${template.path}, and no operation there documents ${res.statusCode}`);
  }
  if (response === undefined) return;
  const empty = res.rawPayload.length === 0;
  const type = mediaTypeOf(res);
  const content = response.content ?? {};
  const types = Object.keys(content).map((t) => t.toLowerCase());
  if (empty && (types.length === 0 || method === 'head')) {
    if (type !== undefined && types.length > 0 && !types.includes(type)) fail(`media type ${type} is not documented (${types.join(', ')})`);
    return;
  }
  if (empty) fail(`an empty body where the document promises ${types.join(', ')}`);
  if (types.length === 0) fail(`a ${type ?? 'typeless'} body where the document promises none`);
  if (type === undefined || !types.includes(type)) fail(`media type ${type ?? '(none)'} is not documented (${types.join(', ')})`);
  if (type === undefined || !isJson(type)) return;
  const media = Object.entries(content).find(([t]) => t.toLowerCase() === type)?.[1];
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    fail(`the ${type} body is not JSON`);
  }
  if (media?.schema === undefined) return;
  const validate = validator(media.schema);
  if (!validate(body)) fail(`the body does not match the documented ${type} schema:\n${explain(validate.errors)}`);
}
