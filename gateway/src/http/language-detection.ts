// Language detection on its own (POST /api/detect-language): the worker's
// detect_language command, one 30 s window of decoding, sent through the same
// scheduler as transcriptions so that it takes a slot like them and fails like
// them (no_worker, a worker lost). It stores no job: nothing of it outlives the
// request, so there is nothing to fetch later and nothing to retry after a
// gateway restart.
import Type, { type Static, type TSchema } from 'typebox';
import { ApiError, fromJobError } from '../errors.ts';
import type { Dispatcher, JobError } from '../dispatch/types.ts';
import type { DetectLanguageResult } from '../protocol/messages.ts';
import { languageName } from '../protocol/languages.ts';
import { afterFailure } from '../jobs/retry.ts';
import { ErrorBody } from './route-responses.ts';

export const DetectLanguageForm = Type.Object(
  {
    file: Type.String({ format: 'binary', minLength: 1, description: 'The audio or video file (any format FFmpeg reads), not empty. Only its first 30 s are heard.' }),
    model: Type.Optional(Type.String({
      description: "A multilingual model: tiny, base, small, medium, large, turbo… (GET /api/models lists them); omitted: the server's DEFAULT_MODEL. "
        + 'An English-only model (as the workers read its files, or by name: .en, distil-) cannot tell languages apart: 400 english_only_model.',
      examples: ['base'],
    })),
  },
  { additionalProperties: false },
);
export type DetectLanguageFields = Static<typeof DetectLanguageForm>;

const probability = Type.Number({ minimum: 0, maximum: 1 });
export const DetectedLanguage = Type.Object({
  language: Type.String({ description: 'ISO-639-1 code of the most likely language', examples: ['de'] }),
  language_name: Type.String({ description: 'Its name, in English (as GET /api/languages names it)', examples: ['German'] }),
  language_probability: probability,
  languages: Type.Array(
    Type.Object({ language: Type.String(), language_name: Type.String(), probability }),
    { description: 'The most likely languages (up to ten), most likely first; the first is `language`.' },
  ),
  model: Type.String({ description: 'The model that listened' }),
});
export type DetectedLanguage = Static<typeof DetectedLanguage>;

const failure = (description: string, headers?: Record<string, TSchema>) => Type.Object(ErrorBody.properties, { description, ...(headers && { headers }) });
const retryAfter = { 'retry-after': Type.String({ description: 'Seconds to wait before trying again.' }) };

export const DETECT_LANGUAGE_ERRORS = {
  400: failure(
    'file_missing, file_empty, undecodable_audio (the worker could not decode the file), audio_too_long, unknown_model, model_unavailable, '
      + 'english_only_model (the model knows English alone), invalid_parameter (a field is unknown or of the wrong type: `param` names it), '
      + 'bad_request (the multipart body could not be read).',
  ),
  408: failure('upload_too_slow: the upload came in slower than MIN_UPLOAD_BYTES_PER_SECOND and was cut off.'),
  413: failure('file_too_large: the file is larger than MAX_UPLOAD_BYTES.'),
  499: failure('cancelled: the gateway shut down before the detection finished.'),
  503: failure('no_worker (none reachable, or each one tried was lost), overloaded, storage_unavailable (the upload could not be stored), shutting_down.', retryAfter),
  504: failure('timeout: the detection took longer than REQUEST_TIMEOUT_MS; it was cancelled.'),
  507: failure('insufficient_storage: the disk is full; the upload was not kept.'),
};

/**
 * English-only by what the workers read from the model's own files (a team's
 * model under any name), else by faster-whisper's naming: `.en` models, and the
 * distil-whisper ones (trained on English alone, though their vocabulary is
 * multilingual). CTranslate2 refuses to detect with an English-only vocabulary.
 */
export function checkMultilingual(model: string, asked: string | undefined, multilingual: boolean | null = null): void {
  if (multilingual !== false && !/\.en$/.test(model) && !model.startsWith('distil-')) return;
  const named = asked === undefined ? `The server's DEFAULT_MODEL '${model}'` : `The model '${asked}'${asked === model ? '' : ` ('${model}')`}`;
  throw new ApiError('english_only_model', `${named} is English-only: it cannot tell languages apart. Send a multilingual model in 'model' (tiny, base, small, medium, large, turbo).`, 'model');
}

export interface Detection {
  model: string;
  audioPath: string;
  audioBytes: number;
}

/**
 * Runs detect_language on a worker, trying another worker after one is lost as
 * a transcription would (jobs/retry.ts decides). `signal` aborting cancels it
 * on the worker.
 */
export async function detectLanguage(dispatcher: Dispatcher, what: Detection, signal: AbortSignal): Promise<DetectedLanguage> {
  const avoid: string[] = [];
  let attempts = 0;
  while (true) {
    const job = dispatcher.submit({ command: 'detect_language', options: {}, previousAttempts: attempts, avoid: [...avoid], ...what }, signal);
    let error: JobError | null = null;
    for await (const event of job.events()) {
      if (event.type === 'started') {
        attempts = event.attempt;
        avoid.push(event.worker);
      }
      // Checked against the protocol's DetectLanguageResult as it arrived (workers/connection.ts: checkReply by command).
      if (event.type === 'done') return shape(event.result as unknown as DetectLanguageResult, what.model);
      if (event.type === 'failed') error = event.error;
    }
    const decision = afterFailure({ error: error!, attempts, async: false, cancelled: signal.aborted, draining: false });
    if (decision.type === 'fail') throw fromJobError(decision.error.code, decision.error.message);
    await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
  }
}

function shape(result: DetectLanguageResult, model: string): DetectedLanguage {
  const ranked = (result.languages as Array<[string, number]>).map(([language, p]) => ({ language, language_name: languageName(language), probability: p }));
  return {
    language: result.language,
    language_name: languageName(result.language),
    language_probability: result.language_probability,
    languages: ranked,
    model,
  };
}
