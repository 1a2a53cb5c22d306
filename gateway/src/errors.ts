// The one table of errors. Every error body the gateway sends is built here,
// in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { describeSchema } from './validation.ts';

const TABLE = {
  file_missing: { status: 400, message: "No file was uploaded: send the audio as the multipart field 'file'." },
  file_empty: { status: 400, message: 'The uploaded file is empty.' },
  file_too_large: { status: 413, message: 'The file is larger than this server accepts.' },
  undecodable_audio: { status: 400, message: 'The file could not be decoded as audio or video.' },
  audio_too_long: { status: 400, message: 'The audio is longer than this server accepts.' },
  unknown_model: { status: 400, message: 'Unknown model.' },
  unknown_language: { status: 400, message: 'Unknown language.' },
  invalid_parameter: { status: 400, message: 'A parameter is invalid.' },
  bad_request: { status: 400, message: 'The request is invalid.' },
  model_unavailable: { status: 400, message: 'The model is not available on any worker.' },
  not_found: { status: 404, message: 'Not found.' },
  method_not_allowed: { status: 405, message: 'The path does not answer this method.' },
  invalid_api_key: { status: 401, message: 'A valid API key is needed.' },
  forbidden_origin: { status: 403, message: 'This origin may not use the API from a browser.' },
  upload_too_slow: { status: 408, message: 'The upload came in too slowly and was cut off.' },
  upgrade_required: { status: 426, message: 'This endpoint speaks WebSocket only.' },
  rate_limit_exceeded: { status: 429, message: 'Too many requests; slow down.' },
  too_many_jobs: { status: 429, message: 'Too many jobs queued or running for this key.' },
  overloaded: { status: 503, message: 'The workers are overloaded; try again later.' },
  no_worker: { status: 503, message: 'No Whisper worker is reachable.' },
  timeout: { status: 504, message: 'The transcription took longer than this server waits.' },
  cancelled: { status: 499, message: 'The request was cancelled.' },
  job_not_finished: { status: 409, message: 'The job has not finished.' },
  job_failed: { status: 409, message: 'The job did not succeed: it has no result.' },
  job_finished: { status: 409, message: 'The job has already finished.' },
  shutting_down: { status: 503, message: 'The gateway is shutting down; try again in a moment.' },
  insufficient_storage: { status: 507, message: 'The server has no room left to store this upload.' },
  storage_unavailable: { status: 503, message: 'The server could not store or read jobs now.' },
  internal: { status: 500, message: 'Something went wrong in the gateway; its log has the details.' },
} as const;

export type ErrorCode = keyof typeof TABLE;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  constructor(code: ErrorCode, message?: string, param: string | null = null) {
    super(message ?? TABLE[code].message);
    this.code = code;
    this.param = param;
  }

  get status(): number {
    return TABLE[this.code].status;
  }
}

/** A job's failure (worker codes and the gateway's) as an API error. */
export function fromJobError(code: string, message: string): ApiError {
  const known = (code in TABLE ? code : 'internal') as ErrorCode;
  return new ApiError(known, known === 'internal' ? TABLE.internal.message : message);
}

export function errorBody(error: ApiError) {
  const type = error.status === 503 ? 'service_unavailable' : error.status === 429 ? 'requests' : error.status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message: error.message, type, param: error.param, code: error.code } };
}

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
