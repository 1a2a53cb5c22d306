// What routes answer besides their own bodies, declared once for the OpenAPI document: the error
// body and the error statuses by kind of route, the statuses every guarded route adds (by
// construction: an onRoute hook of the guarded scope), how a key is sent, media bodies.
import Type, { type TSchema } from 'typebox';
import type { FastifyInstance } from 'fastify';

export const ErrorBody = Type.Object({
  error: Type.Object({ message: Type.String(), type: Type.String(), param: Type.Union([Type.String(), Type.Null()]), code: Type.String() }),
});

/** An error status, in OpenAI's shape; `description` names the codes it carries. */
export const failure = (description: string, headers?: Record<string, TSchema>) =>
  Type.Object(ErrorBody.properties, { description, ...(headers && { headers }) });
export const retryAfter = { 'retry-after': Type.String({ description: 'Seconds to wait before trying again.' }) };

/**
 * What any route can answer: a request it cannot read (a body of an unknown type,
 * a target that is not a path) and the gateway's own failure. Every route in the
 * guarded scope also needs a key and counts against the rate limit.
 */
const EVERY_ROUTE = {
  400: failure('invalid_parameter: a field has the wrong type or value, or is unknown (`param` names it); bad_request: the request could not be read.'),
  500: failure('internal: a failure of the gateway (no details; see its log).'),
};
const GUARDED = {
  401: failure('invalid_api_key: keys are set (API_KEYS, API_KEYS_FILE) and none, or a wrong one, was sent.'),
  429: failure('rate_limit_exceeded: more than RATE_LIMIT_PER_MINUTE requests a minute from this key (Retry-After says when to come back).', retryAfter),
};

/** Answers of the routes that take an upload (multipart, with the file in `file`). */
export const UPLOAD_ERRORS = {
  400: failure(
    'file_missing, file_empty, undecodable_audio (the worker could not decode the file), audio_too_long, unknown_model, unknown_language, unsupported_language (the model was not trained on it: English-only), model_unavailable, unknown_parameter (/v1: a field OpenAI\'s API does not have), '
      + 'invalid_parameter (a field has the wrong type or value, or is unknown: `param` names it), bad_request (the multipart body could not be read).',
  ),
  408: failure('upload_too_slow: the upload came in slower than MIN_UPLOAD_BYTES_PER_SECOND and was cut off.'),
  413: failure('file_too_large: the file is larger than MAX_UPLOAD_BYTES.'),
  429: failure('rate_limit_exceeded (with Retry-After) or too_many_jobs: more than MAX_JOBS_PER_KEY jobs of this key are queued or running.', retryAfter),
  503: failure('no_worker, overloaded, storage_unavailable (the upload could not be stored, or the job store is unreachable), shutting_down.', retryAfter),
  507: failure('insufficient_storage: the disk is full; the upload was not kept.'),
};
/** ...and of those that answer with the result (not a job): the job can end before it succeeds. */
export const TRANSCRIPTION_ERRORS = {
  ...UPLOAD_ERRORS,
  499: failure('cancelled: the job was cancelled (DELETE /api/jobs/{id} or POST /api/jobs/{id}/cancel) before it finished.'),
  504: failure('timeout: the transcription took longer than REQUEST_TIMEOUT_MS; it was cancelled.'),
};
/** Answers of the routes that read a stored job. */
export const JOB_ERRORS = {
  404: failure('not_found: no such job (it never existed, was deleted or purged, or belongs to another key).'),
  503: failure('storage_unavailable: the job store cannot be reached now.', retryAfter),
};
export const JOB_STATE_ERROR = failure('job_not_finished (queued or running), job_failed (failed or cancelled: no result), job_finished (nothing left to cancel).');
/** A job's audio as uploaded (GET /api/jobs/{id}/audio): whole, or the byte range asked. */
const mediaBody = (description: string, headers: Record<string, TSchema>) => ({
  ...content(description, Object.fromEntries(['audio/*', 'video/*', 'application/octet-stream'].map((type) => [type, Type.String({ description: 'The bytes of the file as uploaded' })]))),
  headers: { 'accept-ranges': Type.String({ description: 'bytes' }), 'content-length': Type.String(), ...headers },
});
export const JobAudio = mediaBody('The job\'s audio (or video) as uploaded; its Content-Type by the file name, else sniffed. Send `Range: bytes=start-end` for a part.', {});
export const JobAudioPart = mediaBody('The byte range asked (Range: bytes=start-end, start-, or -suffix).', { 'content-range': Type.String({ description: 'bytes start-end/size' }) });
export const JOB_AUDIO_ERRORS = {
  404: failure('not_found: no such job (it never existed, was deleted or purged, or belongs to another key); job_audio_gone: the job is kept but its audio is not (it failed or was cancelled, or the server runs with KEEP_AUDIO=false).'),
  416: failure('range_not_satisfiable: the Range asked starts past the end of the file (Content-Range: bytes */size says its size).', { 'content-range': Type.String({ description: 'bytes */size' }) }),
};
export const NO_CONTENT = Type.Null({ description: 'Done: no body.' });

/**
 * A response map: `own` over the groups, in order (a later group's status
 * replaces an earlier one's, so a group can describe its status more exactly).
 */
export function responses(own: Record<number, TSchema | object>, ...groups: Array<Record<number, TSchema | object>>) {
  return Object.assign({}, ...groups, own) as Record<number, TSchema | object>;
}

/**
 * Adds what every guarded route can answer (400, 401, 429, 500), and with keys
 * set how it takes a key, to the document of each route registered in `scope`
 * from now on, where the route does not declare that status itself; hidden
 * routes are left alone. The guarded scope calls it first (surface.ts), so
 * every route there, whoever registers it, says so.
 */
export function documentGuardedErrors(scope: FastifyInstance, keysOn: boolean): void {
  scope.addHook('onRoute', (route) => {
    const schema = (route.schema ?? {}) as { hide?: boolean; response?: Record<string, unknown> };
    if (schema.hide) return;
    route.schema = { ...schema, response: { ...EVERY_ROUTE, ...GUARDED, ...schema.response }, ...(keysOn && { security: KEY_SECURITY }) };
  });
}

/** How a key is sent (documented only when keys are set: an open server asks for none). */
export const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'An API key, as OpenAI\'s SDKs send theirs' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key' },
} as const;
const KEY_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { apiKey: [] }];

/** Public routes (outside the guarded scope) answer these besides their own. */
export const PUBLIC_ERRORS = EVERY_ROUTE;

/** A response with a body per media type, e.g. JSON or subtitles by `response_format`. */
export function content(description: string, bodies: Record<string, TSchema>) {
  return { description, content: Object.fromEntries(Object.entries(bodies).map(([type, schema]) => [type, { schema }])) };
}
