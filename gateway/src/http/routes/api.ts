// The original REST API: /api/models, /api/transcribe, /api/health.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.ts';
import type { Dispatch } from '../../dispatch/types.ts';
import { ApiTranscribeForm, ApiTranscribeResult, Health, LanguageList, ModelList, sendAsIs, type ApiTranscribeFields } from '../schemas.ts';
import { PUBLIC_ERRORS, TRANSCRIPTION_ERRORS, responses } from '../route-responses.ts';
import { parseFields } from '../form-fields.ts';
import type { JobService } from '../../jobs/service.ts';
import { LANGUAGES, languageName } from '../../protocol/languages.ts';
import { identify } from '../keys.ts';
import { receiveUpload } from '../uploads.ts';
import { diarizationOption } from '../speakers.ts';
import { checkLanguage, checkModelLanguage, resolveModel, transcribe, type TranscriptionRequest } from '../transcribe.ts';
import type { ModelView } from '../../workers/types.ts';
import type { ResponseFormat } from '../../formats/responses.ts';
import { ApiError } from '../../errors.ts';
import type { TranscribeOptions } from '../../protocol/messages.ts';
import { DEFAULT_CUE_OPTIONS } from '../../formats/subtitles.ts';

export const skipBodyValidation = () => () => true; // multipart forms are checked after streaming, by parseFields

export function apiRoutes(app: FastifyInstance, config: Config, dispatch: Dispatch, service: JobService): void {
  app.get('/api/models', { schema: { tags: ['api'], summary: 'Models: which are available and which loaded, on which workers', response: { 200: ModelList } } }, async () => {
    return { default: config.defaultModel, models: dispatch.directory.models() };
  });

  app.get('/api/languages', { schema: { tags: ['api'], summary: 'The languages Whisper knows', response: { 200: LanguageList } } }, async () => ({
    languages: LANGUAGES.map((code) => ({ code, name: languageName(code) })),
  }));

  app.post(
    '/api/transcribe',
    {
      validatorCompiler: skipBodyValidation,
      serializerCompiler: sendAsIs,
      schema: {
        tags: ['api'],
        summary: 'Transcribe or translate an uploaded file',
        consumes: ['multipart/form-data'],
        body: ApiTranscribeForm,
        response: responses({ 200: ApiTranscribeResult }, TRANSCRIPTION_ERRORS),
      },
    },
    async (request, reply) => {
      await service.admit(request.owner, config.maxJobsPerKey);
      const upload = await receiveUpload(request, config, service.uploadsDir);
      try {
        const what = apiRequest(parseFields(ApiTranscribeForm, upload.fields), config, dispatch.directory.models(), upload.references.length);
        return await transcribe(service, config, request, reply, upload, what, 'api');
      } finally {
        await upload.remove();
      }
    },
  );
}

/** The original API's fields (of /api/transcribe and /api/jobs) as what to transcribe. */
export function apiRequest(f: ApiTranscribeFields, config: Config, models: readonly ModelView[], references = 0): TranscriptionRequest {
  const model = resolveModel(f.model ?? config.defaultModel, config, models.map((m) => m.name));
  const language = checkLanguage(f.language);
  checkModelLanguage(model, language, models);
  const words = f.word_timestamps ?? false;
  const diarization = diarizationOption(f, references);
  return {
    model,
    options: {
      language,
      task: f.task ?? 'transcribe',
      word_timestamps: words,
      ...(f.beam_size !== undefined && { beam_size: f.beam_size }),
      ...(f.batch_size !== undefined && { batch_size: f.batch_size }),
      ...(f.temperature !== undefined && { temperature: f.temperature }),
      ...decodingOptions(f),
      ...(diarization && { diarization }),
    },
    format: (f.response_format ?? 'json') as ResponseFormat,
    stream: f.stream ? 'api' : false,
    cue: { maxLineWidth: f.max_line_width ?? DEFAULT_CUE_OPTIONS.maxLineWidth, maxLineCount: f.max_line_count ?? DEFAULT_CUE_OPTIONS.maxLineCount },
    words,
  };
}

const VAD_FIELDS = { vad_threshold: 'threshold', min_silence_duration_ms: 'min_silence_duration_ms', speech_pad_ms: 'speech_pad_ms' } as const;
const PASSED_AS_IS = ['hotwords', 'condition_on_previous_text', 'no_speech_threshold', 'log_prob_threshold', 'compression_ratio_threshold'] as const;

/** faster-whisper's knobs as the worker's options: the prompt under either name, the VAD's flat fields as its parameters. */
function decodingOptions(f: ApiTranscribeFields): TranscribeOptions {
  if (f.prompt && f.initial_prompt && f.prompt !== f.initial_prompt) {
    throw new ApiError('invalid_parameter', "fields 'prompt' and 'initial_prompt' are the same option and differ: give one of them", 'initial_prompt');
  }
  const vadFields = Object.entries(VAD_FIELDS) as Array<[keyof typeof VAD_FIELDS, string]>;
  const vadParameters = Object.fromEntries(vadFields.flatMap(([field, name]) => (f[field] === undefined ? [] : [[name, f[field]]])));
  const tuned = vadFields.find(([field]) => f[field] !== undefined)?.[0];
  if (tuned && f.vad_filter === false) {
    throw new ApiError('invalid_parameter', `field '${tuned}' tunes the VAD, which vad_filter=false turns off: drop one of them`, tuned);
  }
  const prompt = f.initial_prompt || f.prompt;
  return {
    ...(f.vad_filter !== undefined && { vad_filter: f.vad_filter }),
    ...(tuned && { vad_filter: true, vad_parameters: vadParameters }),
    ...(prompt && { initial_prompt: prompt }),
    ...Object.fromEntries(PASSED_AS_IS.flatMap((name) => (f[name] === undefined || f[name] === '' ? [] : [[name, f[name]]]))),
  };
}

/** Public, for load balancers: without a valid key (when keys are set) it says the status alone. */
export function healthRoute(app: FastifyInstance, config: Config, dispatch: Dispatch, service: JobService): void {
  app.get('/api/health', { logLevel: 'warn', schema: { tags: ['api'], summary: 'The gateway and each worker (without a key, when keys are set: the status alone)', response: responses({ 200: Health, 503: Health }, PUBLIC_ERRORS) } }, async (request, reply) => {
    const workers = dispatch.directory.workers();
    const up = workers.filter((w) => w.up).length;
    const storage = service.storageProblem();
    const status = up === 0 || storage ? 'unavailable' : up < workers.length ? 'degraded' : 'ok';
    reply.status(status === 'unavailable' ? 503 : 200);
    // A load balancer's probe, or a wrong key: the status, nothing more.
    if (config.apiKeys.length > 0 && identify(config.apiKeys, request) === null) return reply.send({ status });
    return reply.send({
      status,
      workers: workers.map((w) => ({
        address: w.address, up: w.up, error: w.error, device: w.device, slots: w.slots,
        running: w.running, queued: w.queued, loaded_models: w.loadedModels,
      })),
      queue: storage ? null : await service.counts(),
      storage: { backend: service.storageName, error: storage },
    });
  });
}
