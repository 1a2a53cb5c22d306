// The one table of errors: each code with its HTTP status and a default
// message, and the body every error is sent as, in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}}. The jobs, the realtime
// API and the HTTP edge (./http/error-handler.ts) all speak it.

const TABLE = {
  file_missing: { status: 400, message: "No file was uploaded: send the audio as the multipart field 'file'." },
  file_empty: { status: 400, message: 'The uploaded file is empty.' },
  file_too_large: { status: 413, message: 'The file is larger than this server accepts.' },
  undecodable_audio: { status: 400, message: 'The file could not be decoded as audio or video.' },
  audio_too_long: { status: 400, message: 'The audio is longer than this server accepts.' },
  unknown_model: { status: 400, message: 'Unknown model.' },
  unknown_language: { status: 400, message: 'Unknown language.' },
  unsupported_language: { status: 400, message: 'The model cannot transcribe this language.' },
  invalid_parameter: { status: 400, message: 'A parameter is invalid.' },
  unknown_parameter: { status: 400, message: 'A parameter is unknown.' },
  bad_request: { status: 400, message: 'The request is invalid.' },
  model_unavailable: { status: 400, message: 'The model is not available on any worker.' },
  english_only_model: { status: 400, message: 'The model is English-only: it cannot detect a language.' },
  not_found: { status: 404, message: 'Not found.' },
  job_audio_gone: { status: 404, message: 'The job\'s audio is not kept: it was deleted when the job ended.' },
  range_not_satisfiable: { status: 416, message: 'The range asked is not within the file.' },
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
  revision_conflict: { status: 409, message: 'The transcript was edited since this edit began.' },
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
export function fromJobError(code: string, message: string, param: string | null = null): ApiError {
  const known = (code in TABLE ? code : 'internal') as ErrorCode;
  return new ApiError(known, known === 'internal' ? TABLE.internal.message : message, known === 'internal' ? null : param);
}

export function errorBody(error: ApiError) {
  const type = error.status === 503 ? 'service_unavailable' : error.status === 429 ? 'requests' : error.status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message: error.message, type, param: error.param, code: error.code } };
}
