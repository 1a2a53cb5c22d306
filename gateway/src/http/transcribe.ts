// One path for every transcription request: validate, submit a job, then
// either wait for the result or stream its events; the upload is removed and
// the job cancelled if the client goes away.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, fromJobError } from '../errors.ts';
import type { JobEvent } from '../dispatch/types.ts';
import type { TranscribeOptions, TranscriptionResult } from '../protocol/messages.ts';
import { owned } from '../owned.ts';
import type { JobService } from '../jobs/service.ts';
import type { JobRequest } from '../jobs/store.ts';
import { apiEvent, openaiEvents, openStream, SpeakerNames, type Flavour } from './sse.ts';
import { isLanguage, LANGUAGES, type Language } from '../protocol/languages.ts';
import { apiJson, openaiBody, render, type OpenAIExtras, type ResponseFormat } from '../formats/responses.ts';
import type { CueOptions } from '../formats/subtitles.ts';
import type { Upload } from './uploads.ts';
import type { Config } from '../config.ts';
import type { ModelView } from '../workers/types.ts';
import { referenceParam } from './speakers.ts';

export interface TranscriptionRequest {
  model: string;
  options: TranscribeOptions;
  format: ResponseFormat;
  stream: 'api' | 'openai' | false;
  cue: CueOptions;
  words: boolean;
  /** /v1 only: what its answers add to the result (usage, logprobs). */
  openai?: OpenAIExtras;
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

/**
 * A language the model was not trained on (an English-only model asked for German): refused before it is queued, where
 * the worker would refuse it only once the job runs. The languages are what the workers read from the model's files;
 * a model no worker has read yet is left to the worker's own check.
 */
export function checkModelLanguage(model: string, language: Language | null, models: readonly ModelView[]): void {
  const languages = models.find((m) => m.name === model)?.languages;
  if (language === null || !languages || languages.includes(language)) return;
  const kind = languages.length === 1 && languages[0] === 'en' ? 'is English-only' : 'was not trained on it';
  throw new ApiError('unsupported_language', `field 'language': model '${model}' cannot transcribe '${language}': it ${kind}. Pick a multilingual model, or leave the language out.`, 'language');
}

/** Submits the upload as a job, then answers with its result, or streams its events as they happen. */
export async function transcribe(
  service: JobService,
  config: Config,
  request: FastifyRequest,
  reply: FastifyReply,
  upload: Upload,
  what: TranscriptionRequest,
  source: JobRequest['source'],
): Promise<void> {
  const started = performance.now();
  const job = await service.submit(upload.path, {
    model: what.model, options: what.options, filename: upload.filename, audio_bytes: upload.bytes, callback_url: null, source, owner: request.owner,
    max_line_width: what.cue.maxLineWidth, max_line_count: what.cue.maxLineCount,
  }, request.id, upload.references);
  request.log.info({ job: job.id, model: what.model, bytes: upload.bytes }, 'job submitted');
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  controller.signal.addEventListener('abort', () => owned(request.log, `cancelling job ${job.id}`, service.cancel(job.id)), { once: true });
  const timer = config.requestTimeoutMs > 0 ? setTimeout(() => controller.abort('timeout'), config.requestTimeoutMs) : null;
  const timedOut = () => new ApiError('timeout', `The transcription took longer than REQUEST_TIMEOUT_MS=${config.requestTimeoutMs}; it was cancelled.`);
  try {
    if (what.stream) {
      const shape = (r: TranscriptionResult) => apiJson(r, (performance.now() - started) / 1000);
      return await stream(
        service, job.id, reply, what.stream, shape, what.openai, controller.signal, () => (controller.signal.reason === 'timeout' ? timedOut() : null),
      );
    }
    const done = await service.finished(job.id);
    if (done.status !== 'succeeded') {
      if (controller.signal.reason === 'timeout') throw timedOut();
      throw fromJobError(done.error!.code, done.error!.message, referenceParam(done.error!.message));
    }
    const out = render(what.format, done.result!, what.cue, (performance.now() - started) / 1000, what.words);
    const body = source === 'openai' ? openaiBody(what.format, done.result!, out.body, what.openai ?? { usage: false, logprobs: false }) : out.body;
    await reply.type(out.contentType).send(body);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * The job's events as they happen. A stream cut short by the gateway (the
 * REQUEST_TIMEOUT_MS deadline: `cutShort` says why) ends with an error event,
 * never in silence; one the client left just ends.
 */
async function stream(
  service: JobService, id: string, reply: FastifyReply, flavour: Flavour, shape: (r: TranscriptionResult) => unknown, extras: OpenAIExtras | undefined,
  signal: AbortSignal, cutShort: () => ApiError | null,
): Promise<void> {
  const send = openStream(reply);
  const names = new SpeakerNames();
  const emit = (event: JobEvent) => {
    names.see(event);
    if (flavour === 'api') send(...apiEvent(event, shape, names));
    else for (const data of openaiEvents(event, names, extras)) send(null, data);
  };
  let ended = false;
  try {
    for await (const { event } of service.events(id, 0, signal)) {
      emit(event);
      ended ||= event.type === 'done' || event.type === 'failed';
    }
  } catch (err) {
    // Headers are sent: the failure (the store unreadable, say) can only be an event now.
    reply.log.error({ err, job: id }, 'the event stream of a job failed');
    if (!ended) emit({ type: 'failed', error: { code: 'internal', message: 'the job\'s events could not be read' } });
    ended = true;
  }
  const why = ended ? null : cutShort();
  if (why) emit({ type: 'failed', error: { code: why.code, message: why.message } });
  reply.raw.end();
}
