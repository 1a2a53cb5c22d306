// One path for every transcription request: validate, submit a job, then
// either wait for the result or stream its events; the upload is removed and
// the job cancelled if the client goes away.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorBody, fromJobError } from './errors.ts';
import { JobFailure, type JobEvent, type JobSystem, type TranscribeOptions, type TranscriptionResult } from './jobs/types.ts';
import { isLanguage, LANGUAGES, type Language } from './languages.ts';
import { apiJson, render, type ResponseFormat } from './formats/responses.ts';
import type { CueOptions } from './formats/subtitles.ts';
import type { Upload } from './uploads.ts';
import type { Config } from './config.ts';

export interface TranscriptionRequest {
  model: string;
  options: TranscribeOptions;
  format: ResponseFormat;
  stream: 'api' | 'openai' | false;
  cue: CueOptions;
  words: boolean;
}

/**
 * An alias or a model name, checked against the names the workers reported.
 * Before any worker has answered there is nothing to check against: the
 * worker will judge the name itself.
 */
export function resolveModel(name: string, config: Config, known: readonly string[]): string {
  const model = config.modelAliases[name] ?? name;
  if (known.length > 0 && !known.includes(model)) {
    const accepted = [...Object.keys(config.modelAliases), ...known].join(', ');
    throw new ApiError('unknown_model', `field 'model': '${name}' is not a model the workers know. Accepted: ${accepted}.`, 'model');
  }
  return model;
}

export function checkLanguage(language: string | undefined): Language | null {
  if (!language || language === 'auto') return null;
  const code = language.toLowerCase();
  if (!isLanguage(code)) {
    throw new ApiError('unknown_language', `field 'language': '${language}' is not a language Whisper knows. Use 'auto' or an ISO-639-1 code: ${LANGUAGES.join(', ')}.`, 'language');
  }
  return code;
}

export async function transcribe(
  jobs: JobSystem,
  config: Config,
  request: FastifyRequest,
  reply: FastifyReply,
  upload: Upload,
  what: TranscriptionRequest,
): Promise<void> {
  const started = performance.now();
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const timer = config.requestTimeoutMs > 0 ? setTimeout(() => controller.abort('timeout'), config.requestTimeoutMs) : null;
  const job = jobs.queue.submit({ model: what.model, options: what.options, audioPath: upload.path, audioBytes: upload.bytes }, controller.signal);
  request.log.info({ job: job.id, model: what.model, bytes: upload.bytes }, 'job submitted');
  try {
    if (what.stream) {
      await streamEvents(reply, job.events(), what.stream, (r) => apiJson(r, (performance.now() - started) / 1000), controller.signal);
      return;
    }
    let result: TranscriptionResult;
    try {
      result = await job.result();
    } catch (e) {
      if (controller.signal.reason === 'timeout') throw new ApiError('timeout', `The transcription took longer than REQUEST_TIMEOUT_MS=${config.requestTimeoutMs}.`);
      throw e instanceof JobFailure ? fromJobError(e.code, e.message) : e;
    }
    const out = render(what.format, result, what.cue, (performance.now() - started) / 1000, what.words);
    const body = what.stream === false && what.format === 'json' && request.url.startsWith('/v1/') ? { text: result.text } : out.body;
    await reply.type(out.contentType).send(body);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Server-Sent Events: our events for /api, OpenAI's transcript.text.* for /v1. */
async function streamEvents(
  reply: FastifyReply,
  events: AsyncIterable<JobEvent>,
  flavour: 'api' | 'openai',
  shape: (r: TranscriptionResult) => unknown,
  signal: AbortSignal,
): Promise<void> {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = (event: string | null, data: unknown) => {
    if (!reply.raw.writableEnded) reply.raw.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  };
  let lastSegment = -1; // after a retry on another worker, segments come again from the start
  for await (const event of events) {
    if (signal.aborted) break;
    if (event.type === 'segment') {
      if (event.segment.id <= lastSegment) continue;
      lastSegment = event.segment.id;
    }
    if (flavour === 'api') sendApiEvent(send, event, shape);
    else sendOpenAIEvent(send, event);
  }
  reply.raw.end();
}

type Send = (event: string | null, data: unknown) => void;

function sendApiEvent(send: Send, event: JobEvent, shape: (r: TranscriptionResult) => unknown): void {
  switch (event.type) {
    case 'queued':
      return send('queued', { position: event.position });
    case 'started':
      return send('started', { worker: event.worker, attempt: event.attempt });
    case 'info':
      return send('info', { language: event.language, language_probability: event.language_probability, duration: event.duration, model: event.model });
    case 'progress':
      return send('progress', { processed: event.processed, duration: event.duration });
    case 'segment': {
      const { id, start, end, text, words } = event.segment;
      return send('segment', { id, start, end, text, ...(words ? { words } : {}) });
    }
    case 'done':
      return send('result', shape(event.result));
    case 'failed':
      return send('error', errorBody(fromJobError(event.error.code, event.error.message)));
  }
}

function sendOpenAIEvent(send: Send, event: JobEvent): void {
  if (event.type === 'segment') send(null, { type: 'transcript.text.delta', delta: event.segment.text });
  else if (event.type === 'done') send(null, { type: 'transcript.text.done', text: event.result.text });
  else if (event.type === 'failed') send(null, { type: 'error', ...errorBody(fromJobError(event.error.code, event.error.message)) });
}

