// Errors as HTTP answers: whatever a route throws, a schema refuses or
// Fastify itself raises becomes an ApiError of the one table (../errors.ts),
// sent in OpenAI's shape. Nothing else writes an error body.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorBody } from '../errors.ts';
import { describeSchema } from './validation.ts';

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as FastifyError;
  if (e?.code === 'FST_REQ_FILE_TOO_LARGE') return new ApiError('file_too_large');
  if (e?.validation) return fromValidation(e.validation as ValidationIssue[], e.validationContext ?? 'body');
  if (typeof e?.statusCode === 'number' && e.statusCode < 500) return new ApiError('bad_request', e.message);
  return new ApiError('internal');
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: { additionalProperty?: string; missingProperty?: string };
  parentSchema?: object;
  data?: unknown;
  message?: string;
}

/** A JSON body or query that its route's schema refused (ajv runs with verbose, so the schema is at hand). */
function fromValidation(issues: ValidationIssue[], context: string): ApiError {
  const issue = issues.find((i) => i.keyword === 'anyOf' || i.keyword === 'enum') ?? issues[0]!;
  const path = issue.instancePath.replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replaceAll('/', '.');
  const where = (name: string) => (path ? `${path}.${name}` : name);
  if (issue.keyword === 'additionalProperties') {
    const name = where(issue.params.additionalProperty ?? '?');
    return new ApiError('invalid_parameter', `unknown field '${name}' in the ${context}`, name);
  }
  if (issue.keyword === 'required') {
    const name = where(issue.params.missingProperty ?? '?');
    return new ApiError('invalid_parameter', `field '${name}' is required in the ${context}`, name);
  }
  const accepted = issue.parentSchema ? describeSchema(issue.parentSchema) : (issue.message ?? 'is invalid');
  return new ApiError('invalid_parameter', `field '${path || context}' ${accepted} (got ${JSON.stringify(issue.data)})`, path || null);
}

export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const api = toApiError(unrouted(error, request, reply));
  if (api.code === 'internal') request.log.error({ err: error }, 'request failed');
  if (api.code === 'shutting_down' || api.code === 'storage_unavailable') void reply.header('retry-after', '5');
  if (api.code === 'upload_too_slow') void reply.header('connection', 'close'); // the rest of the body is not worth waiting for
  void reply.status(api.status).send(errorBody(api));
}

/**
 * A request that matched no route but failed before the not-found handler ran
 * (Fastify reads a body first: a QUERY without Content-Type, a body of an
 * unknown type) gets the answer that handler gives, 404 or 405 with Allow: that
 * the route does not exist says more than what was wrong with its body.
 */
function unrouted(error: unknown, request: FastifyRequest, reply: FastifyReply): unknown {
  if (!request.is404 || error instanceof ApiError || !request.server.routeTable) return error;
  try {
    request.server.routeTable.notFound(request, reply);
  } catch (answer) {
    return answer;
  }
  return error;
}
