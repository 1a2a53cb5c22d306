// A realtime session's errors, in OpenAI's shape: an `error` event whose
// `error` has type, code, message, param and the client event's id. An error
// never ends the session: the client may send the next event.
import { ApiError } from '../errors.ts';

export type RealtimeErrorType = 'invalid_request_error' | 'server_error';

// The worker's and the gateway's codes that are the server's fault (or its state), not the client's.
const SERVER_CODES = new Set(['worker_lost', 'no_worker', 'overloaded', 'internal', 'timeout', 'storage_unavailable', 'shutting_down']);

export class RealtimeError extends Error {
  readonly code: string;
  readonly param: string | null;
  readonly clientEventId: string | null;
  readonly type: RealtimeErrorType;

  constructor(code: string, message: string, param: string | null = null, clientEventId: string | null = null, type?: RealtimeErrorType) {
    super(message);
    this.code = code;
    this.param = param;
    this.clientEventId = clientEventId;
    this.type = type ?? (SERVER_CODES.has(code) ? 'server_error' : 'invalid_request_error');
  }

  /** The same error, about the client event `id`. */
  about(id: string | null | undefined): RealtimeError {
    return new RealtimeError(this.code, this.message, this.param, id ?? null, this.type);
  }

  /** The `error` event's payload (the event id is added where events are sent). */
  event() {
    return { type: 'error', error: { type: this.type, code: this.code, message: this.message, param: this.param, event_id: this.clientEventId } };
  }
}

/** A failure the worker reported (protocol §6). `internal` keeps its details in the log, as the HTTP API does. */
export function fromWorker(code: string, message: string, clientEventId: string | null = null): RealtimeError {
  const text = code === 'internal' ? 'The worker failed on this stream; its log has the details.' : message;
  return new RealtimeError(code, text, null, clientEventId);
}

/** A check the HTTP API makes too (model names, languages), about the field `param` of a client event. */
export function fromApi(error: unknown, param: string, clientEventId: string | null): RealtimeError {
  if (error instanceof ApiError) return new RealtimeError(error.code, error.message, param, clientEventId);
  throw error;
}
