// What the page takes from the gateway's OpenAPI document (made by
// gateway/scripts/openapi.ts; the Makefile runs both): the API's types, and
// the bounds of the job form's fields. Both are generated, never committed:
//   node scripts/api-types.ts <openapi.json> <folder>
// writes <folder>/api.ts (openapi-typescript) and <folder>/job-fields.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import openapiTS, { type OpenAPI3, type SchemaObject } from 'openapi-typescript';

const [documentPath, folder] = process.argv.slice(2);
if (!documentPath || !folder) throw new Error('usage: node scripts/api-types.ts <openapi.json> <folder>');
const document = JSON.parse(readFileSync(documentPath, 'utf8')) as OpenAPI3;
const HEADER = `// Generated from the gateway's OpenAPI document by web/scripts/api-types.ts: do not edit (make web remakes it).\n`;

/**
 * OpenAPI 3.0 has no null type: it is written `{nullable: true, enum: [null]}`.
 * openapi-typescript 6 reads that enum as a list of values and fails on the
 * null in it; it means exactly `null`.
 */
const onlyNull = (schema: SchemaObject) =>
  (schema as { nullable?: boolean }).nullable === true && Array.isArray(schema.enum) && schema.enum.length === 1 && schema.enum[0] === null;

const types = await openapiTS(document, { transform: (schema) => (onlyNull(schema) ? 'null' : undefined), commentHeader: HEADER });
writeFileSync(path.join(folder, 'api.ts'), types);

interface Field { type?: string; minimum?: number; maximum?: number; default?: unknown }
/** The part of the document the form's bounds come from: POST /api/jobs's multipart fields, which the page's form sends. */
interface JobForm { paths?: { '/api/jobs'?: { post?: { requestBody?: { content?: { 'multipart/form-data'?: { schema?: { properties?: Record<string, Field> } } } } } } } }

const fields = (document as JobForm).paths?.['/api/jobs']?.post?.requestBody?.content?.['multipart/form-data']?.schema?.properties;
if (!fields) throw new Error(`${documentPath} has no multipart form for POST /api/jobs`);

// Numbers with their bounds, and the fields whose default the worker applies (a number or a flag).
const scalar = (v: unknown) => typeof v === 'number' || typeof v === 'boolean';
const bounds = Object.fromEntries(
  Object.entries(fields)
    .filter(([, field]) => field.minimum !== undefined || field.maximum !== undefined || scalar(field.default))
    .map(([name, { type, minimum, maximum, default: value }]) => [name, { type, minimum, maximum, ...(scalar(value) && { default: value }) }]),
);
writeFileSync(
  path.join(folder, 'job-fields.ts'),
  `${HEADER}\n/** The fields of POST /api/jobs with bounds the gateway checks them against, or a default the worker applies. */\nexport const JOB_FIELD_BOUNDS = ${JSON.stringify(bounds, null, 2)} as const;\n`,
);
