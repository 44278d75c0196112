// Validates responses against worker/openapi.json. A small JSON Schema (2020-12) subset:
// exactly the keywords the document uses. An unknown keyword is an error, so the
// document cannot claim something this validator silently skips.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

export const DOC = JSON.parse(readFileSync(join(ROOT, 'worker/openapi.json'), 'utf8'));

const ANNOTATIONS = new Set(['description', 'title', 'example', 'examples']);
const CHECKED = new Set(['$ref', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'minimum', 'maximum', 'pattern', 'format']);

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (Number.isInteger(v)) return 'integer';
  return typeof v;
}

function resolve(ref) {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(2).split('/').reduce((o, k) => o?.[k], DOC) ?? (() => { throw new Error(`dangling $ref ${ref}`); })();
}

/** The errors of `value` against `schema` (an empty list when it conforms). */
export function validate(value, schema, path = '$') {
  const errors = [];
  for (const k of Object.keys(schema)) {
    if (!ANNOTATIONS.has(k) && !CHECKED.has(k)) throw new Error(`schema keyword ${k} at ${path} is not supported by tests/e2e/openapi.mjs`);
  }
  if (schema.$ref) return validate(value, resolve(schema.$ref), path);
  const t = typeOf(value);
  if (schema.type) {
    const types = [].concat(schema.type);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
      return [`${path}: ${JSON.stringify(value)?.slice(0, 80)} is ${t}, not ${types.join('|')}`];
    }
  }
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in ${schema.enum}`);
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: ${value} < ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${path}: ${value} > ${schema.maximum}`);
  }
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (schema.format === 'date-time' && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)) errors.push(`${path}: ${value} is not date-time`);
    if (schema.format === 'date' && !/^\d{4}-\d\d-\d\d$/.test(value)) errors.push(`${path}: ${value} is not a date`);
  }
  if (t === 'object' && schema.properties) {
    for (const r of schema.required ?? []) if (!(r in value)) errors.push(`${path}: missing ${r}`);
    for (const [k, v] of Object.entries(value)) {
      if (schema.properties[k]) errors.push(...validate(v, schema.properties[k], `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: undocumented field ${k}`);
    }
  } else if (t === 'object' && schema.required) {
    for (const r of schema.required) if (!(r in value)) errors.push(`${path}: missing ${r}`);
  }
  if (t === 'array' && schema.items) value.forEach((v, i) => errors.push(...validate(v, schema.items, `${path}[${i}]`)));
  return errors;
}

/** The documented operation for a concrete method and path (`/runs/r1` -> `/runs/{run_id}`). */
export function operationFor(method, path) {
  const segs = path.split('?')[0].split('/').filter(Boolean);
  let best;
  for (const [template, item] of Object.entries(DOC.paths)) {
    const t = template.split('/').filter(Boolean);
    if (t.length !== segs.length || !item[method.toLowerCase()]) continue;
    let literal = 0;
    if (!t.every((s, i) => s.startsWith('{') || (s === segs[i] && ++literal))) continue;
    if (!best || literal > best.literal) best = { template, literal, op: item[method.toLowerCase()] };
  }
  return best;
}

/**
 * Checks a response against the document: its status is documented for the operation,
 * its JSON body matches the documented schema, and an error's code is in x-error-codes.
 * Returns a list of problems.
 */
export function checkResponse(method, path, status, contentType, body) {
  const found = operationFor(method, path);
  if (!found) return [`${method} ${path} is not in the OpenAPI document`];
  const resp = found.op.responses[String(status)];
  if (!resp) return [`${method} ${found.template}: status ${status} is not documented`];
  const content = (resp.$ref ? resolve(resp.$ref) : resp).content ?? {};
  const ct = (contentType ?? '').split(';')[0].trim();
  const media = content[ct];
  if (!media) return [`${method} ${found.template} ${status}: content type ${ct} is not documented`];
  const problems = [];
  if (ct === 'application/json') {
    const json = JSON.parse(body);
    problems.push(...validate(json, media.schema).map((e) => `${method} ${found.template} ${status}: ${e}`));
    if (status >= 400 && !DOC['x-error-codes'].includes(json?.error?.code)) problems.push(`error code ${json?.error?.code} is not in x-error-codes`);
  } else if (ct === 'application/x-ndjson') {
    for (const line of body.split('\n').filter(Boolean)) problems.push(...validate(JSON.parse(line), media.schema).map((e) => `NDJSON line: ${e}`));
  }
  return problems;
}
