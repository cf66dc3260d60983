// RSA's body rules (docs/vendors.md): a JSON object with exactly the expected number of properties,
// each one known and well-formed, answered with RSA's messages ("Incorrect number of properties in
// the request body.", "Invalid property specified: <name>."). One definition per body serves as the
// OpenAPI schema and as the validator this front end installs for its routes.
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CoreError } from '../../core/errors.ts';

export interface RsaBodySpec {
  /** Every property the body may carry, with its shape. */
  fields: Record<string, z.ZodType>;
  /** How many properties a valid body has. */
  counts: readonly number[];
  /** Exactly one of these must be present (email or username). */
  oneOf?: readonly string[];
  required: readonly string[];
}

const specs = new WeakMap<object, RsaBodySpec>();

/** The body's schema for OpenAPI; validation follows `spec` (see rsaValidatorCompiler). */
export function rsaBody(id: string, spec: RsaBodySpec): z.ZodType {
  const shape = Object.fromEntries(Object.entries(spec.fields).map(([k, v]) =>
    [k, spec.required.includes(k) ? v : v.optional()]));
  const schema = z.object(shape).meta({
    id,
    description: spec.oneOf ? `Exactly one of ${spec.oneOf.join(', ')}; no other properties.` : 'No other properties.',
  });
  specs.set(schema, spec);
  return schema;
}

// A property name quoted back in a message: bounded and printable.
// eslint-disable-next-line no-control-regex
const shown = (name: string): string => name.slice(0, 64).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
const invalid = (name: string) => new CoreError('invalid_request', 'invalid property', { target: shown(name) });

export function validateRsaBody(spec: RsaBodySpec, data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new CoreError('invalid_request', 'The request body must be a JSON object.');
  }
  const body = data as Record<string, unknown>;
  const keys = Object.keys(body);
  if (!spec.counts.includes(keys.length)) throw new CoreError('invalid_request', 'Incorrect number of properties in the request body.');
  const unknown = keys.find((k) => !Object.hasOwn(spec.fields, k));
  if (unknown !== undefined) throw invalid(unknown);
  if (spec.oneOf) {
    const present = spec.oneOf.filter((k) => Object.hasOwn(body, k));
    if (present.length > 1) throw invalid(present[1] ?? '');
    // Neither is there: name the first, the property the body lacks.
    if (present.length === 0) throw invalid(spec.oneOf[0] ?? '');
  }
  const missing = spec.required.find((k) => !Object.hasOwn(body, k));
  if (missing !== undefined) throw invalid(missing);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const parsed = spec.fields[k]?.safeParse(body[k]);
    if (!parsed?.success) throw invalid(k);
    out[k] = parsed.data;
  }
  return out;
}

/** Bodies declared with rsaBody are judged by RSA's rules; everything else as usual (zod). */
export const rsaValidatorCompiler: FastifySchemaCompiler<z.ZodType> = (route) => {
  const spec = route.httpPart === 'body' ? specs.get(route.schema) : undefined;
  if (spec === undefined) return validatorCompiler(route);
  return (data: unknown) => {
    try {
      return { value: validateRsaBody(spec, data) };
    } catch (error) {
      return { error: error as Error };
    }
  };
};
