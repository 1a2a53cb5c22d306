// What a field accepts, in words, read from its schema: every validation
// message names the field and what it accepts, and no message is written by
// hand for each field.
import { Ajv } from 'ajv';

interface Described {
  type?: string;
  anyOf?: Described[];
  const?: unknown;
  enum?: unknown[];
  items?: Described;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
}

function range(schema: Described): string {
  const { minimum: low, maximum: high } = schema;
  if (low !== undefined && high !== undefined) return ` from ${low} to ${high}`;
  if (low !== undefined) return ` of at least ${low}`;
  if (high !== undefined) return ` of at most ${high}`;
  return '';
}

function choices(schema: Described): unknown[] | null {
  if (schema.enum) return schema.enum;
  if (schema.anyOf?.every((s) => 'const' in s)) return schema.anyOf.map((s) => s.const);
  return null;
}

export function describeSchema(schema: object): string {
  const s = schema as Described;
  const values = choices(s);
  if (values) return `must be one of: ${values.join(', ')}`;
  switch (s.type) {
    case 'integer':
      return `must be a whole number${range(s)}`;
    case 'number':
      return `must be a number${range(s)}`;
    case 'boolean':
      return 'must be true or false';
    case 'string': {
      if (s.format === 'date-time') return 'must be a date-time, as 2026-01-31T09:00:00Z';
      const { minLength: low, maxLength: high } = s;
      if (low !== undefined && high !== undefined) return `must be text of ${low} to ${high} characters`;
      if (high !== undefined) return `must be text of at most ${high} characters`;
      return 'must be text';
    }
    case 'array': {
      const items = s.items && choices(s.items);
      return items ? `must be one or more of: ${items.join(', ')}` : 'must be a list';
    }
    default:
      return 'is invalid';
  }
}

/**
 * A route's validator compiler for a JSON body taken as it is: Fastify's own
 * coerces types (`null` or `"1"` passes as a number, `"true"` as a boolean),
 * which a JSON body has no need of, so a field of the wrong type would be
 * accepted for what it is not. Other parts (querystring, params) arrive as
 * text and are coerced as Fastify does.
 */
const asSent = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, verbose: true, strict: false });
const asText = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, verbose: true, strict: false });
export function strictJsonBody({ schema, httpPart }: { schema: object; httpPart?: string }) {
  return (httpPart === 'body' ? asSent : asText).compile(schema);
}
