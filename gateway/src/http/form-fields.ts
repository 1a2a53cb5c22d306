// Multipart forms' fields as their schemas' types: every field arrives as
// text, and each is read strictly as its schema says before the form is
// checked, so a 400 names the field and what it accepts.
import Value from 'typebox/value';
import type { Static, TObject, TSchema } from 'typebox';
import { ApiError } from '../errors.ts';
import { describeSchema } from './validation.ts';

/**
 * Multipart fields arrive as text: each is read as its schema's type, strictly
 * (an integer is digits, a number a decimal numeral, a boolean true or false;
 * `true` is no number and `1` no boolean), then the whole form is checked. A
 * list field takes one part per item, so a single part is a list of one. Text
 * that is not of the field's type stays text, and the check names the field
 * and what it accepts. A field the schema lacks is refused with `unknown`'s
 * code (OpenAI's routes answer as OpenAI does: unknown_parameter).
 */
export function parseFields<T extends TObject>(
  schema: T, fields: Record<string, string | string[]>, unknown: 'invalid_parameter' | 'unknown_parameter' = 'invalid_parameter',
): Static<T> {
  const properties = schema.properties as Record<string, TSchema>;
  const value: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(fields)) {
    const field = Object.hasOwn(properties, name) ? properties[name] : undefined;
    if (field && Array.isArray(raw) && (field as { type?: unknown }).type !== 'array') {
      throw new ApiError('invalid_parameter', `field '${name}' was sent ${raw.length} times; send it once`, name);
    }
    value[name] = field ? fieldValue(field, raw) : raw;
  }
  value.file = 'binary'; // the file part itself is streamed to disk, not kept among the fields
  if (Value.Check(schema, value)) return value as Static<T>;
  const errors = [...Value.Errors(schema, value)];
  const extra = errors.map((e) => (e.params as { additionalProperties?: string[] })?.additionalProperties?.[0]).find(Boolean);
  if (extra) throw new ApiError(unknown, `unknown field '${extra}'; accepted fields: ${Object.keys(schema.properties).join(', ')}`, extra);
  const missing = errors.map((e) => (e.params as { requiredProperties?: string[] })?.requiredProperties?.[0]).find(Boolean);
  if (missing) throw new ApiError('invalid_parameter', `field '${missing}' is required`, missing);
  const param = errors[0]?.instancePath.replace(/^\//, '').split('/')[0] ?? '';
  const field = Object.hasOwn(properties, param) ? properties[param] : undefined;
  const raw = fields[param];
  const got = raw === undefined ? '' : ` (got ${JSON.stringify(raw)})`;
  const accepted = field ? describeSchema(field) : errors[0]?.message ?? 'is invalid';
  throw new ApiError('invalid_parameter', `field '${param}' ${accepted}${got}`, param || null);
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A field's parts (one, or several for a list field) as its schema's type. */
function fieldValue(schema: TSchema, raw: string | string[]): unknown {
  const { type, items } = schema as { type?: unknown; items?: TSchema };
  if (type === 'array' && items) return [raw].flat().map((text) => fromText(items, text));
  return typeof raw === 'string' ? fromText(schema, raw) : raw;
}

function fromText(schema: TSchema, text: string): unknown {
  switch ((schema as { type?: unknown }).type) {
    case 'integer':
      return INTEGER.test(text) ? Number(text) : text;
    case 'number': {
      const n = NUMBER.test(text) ? Number(text) : Number.NaN;
      return Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return /^true$/i.test(text) ? true : /^false$/i.test(text) ? false : text;
    default:
      return text;
  }
}
