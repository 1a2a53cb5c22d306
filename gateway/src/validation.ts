// What a field accepts, in words, read from its schema: every validation
// message names the field and what it accepts, and no message is written by
// hand for each field.
interface Described {
  type?: string;
  anyOf?: Described[];
  const?: unknown;
  enum?: unknown[];
  items?: Described;
  minimum?: number;
  maximum?: number;
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
    case 'string':
      return 'must be text';
    case 'array': {
      const items = s.items && choices(s.items);
      return items ? `must be one or more of: ${items.join(', ')}` : 'must be a list';
    }
    default:
      return 'is invalid';
  }
}
