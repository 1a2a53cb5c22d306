// OpenAI's audio API as a drop-in: the official SDKs work unchanged.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import type { Dispatch } from '../../dispatch/types.ts';
import type { JobService } from '../../jobs/service.ts';
import { OpenAIModelList, OpenAITranscriptionForm, OpenAITranscriptionResult, OpenAITranslationForm, sendAsIs } from '../schemas.ts';
import { TRANSCRIPTION_ERRORS, responses } from '../route-responses.ts';
import { parseFields } from '../form-fields.ts';
import { receiveUpload } from '../uploads.ts';
import { checkLanguage, checkModelLanguage, resolveModel, transcribe } from '../transcribe.ts';
import { DEFAULT_CUE_OPTIONS } from '../../formats/subtitles.ts';
import type { ResponseFormat } from '../../formats/responses.ts';
import { skipBodyValidation } from './api.ts';
import { diarizationOption, type SpeakerFields } from '../speakers.ts';
import { ApiError } from '../../errors.ts';
import { isLanguage, LANGUAGES, type Language } from '../../protocol/languages.ts';
import { optionSchema } from '../../protocol/messages.ts';

const started = Math.floor(Date.now() / 1000);

export function openaiRoutes(app: FastifyInstance, config: Config, dispatch: Dispatch, service: JobService): void {
  app.get('/v1/models', { schema: { tags: ['openai'], summary: 'Models, OpenAI style (aliases included)', response: { 200: OpenAIModelList } } }, async () => ({
    object: 'list' as const,
    data: [...Object.keys(config.modelAliases), ...dispatch.directory.modelNames()].map((id) => ({ id, object: 'model' as const, created: started, owned_by: 'whisper-service' })),
  }));

  const schema = (summary: string, body: typeof OpenAITranscriptionForm | typeof OpenAITranslationForm) => ({
    tags: ['openai'],
    summary,
    consumes: ['multipart/form-data'],
    body,
    response: responses({ 200: OpenAITranscriptionResult }, TRANSCRIPTION_ERRORS),
  });

  app.post('/v1/audio/transcriptions', { validatorCompiler: skipBodyValidation, serializerCompiler: sendAsIs, schema: schema('Transcribe audio (OpenAI API)', OpenAITranscriptionForm) }, (request, reply) =>
    handle(request, reply, 'transcribe'),
  );
  app.post('/v1/audio/translations', { validatorCompiler: skipBodyValidation, serializerCompiler: sendAsIs, schema: schema('Translate audio into English (OpenAI API)', OpenAITranslationForm) }, (request, reply) =>
    handle(request, reply, 'translate'),
  );

  async function handle(request: FastifyRequest, reply: FastifyReply, task: 'transcribe' | 'translate'): Promise<void> {
    await service.admit(request.owner, config.maxJobsPerKey);
    const upload = await receiveUpload(request, config, service.uploadsDir);
    try {
      // OpenAI refuses a parameter it does not know, by name: so do we, rather than drop what a client meant to ask.
      const f = task === 'transcribe'
        ? parseFields(OpenAITranscriptionForm, upload.fields, 'unknown_parameter')
        : parseFields(OpenAITranslationForm, upload.fields, 'unknown_parameter');
      const list = (name: string): string[] => {
        const sent = f as Record<string, unknown>;
        return [...((sent[`${name}[]`] as string[] | undefined) ?? []), ...((sent[name] as string[] | undefined) ?? [])];
      };
      const param = (name: string) => (`${name}[]` in upload.fields ? `${name}[]` : name);
      const words = list('timestamp_granularities').includes('word');
      const logprobs = list('include').includes('logprobs');
      const format = (f.response_format ?? 'json') as ResponseFormat;
      if (logprobs && !f.stream && format !== 'json') {
        throw new ApiError('invalid_parameter', `field '${param('include')}': logprobs come with response_format json or stream=true, not ${format}`, param('include'));
      }
      const hotwords = hotwordsOf(list('keywords'), param('keywords'));
      const candidates = [...new Set(list('languages').map((l) => candidateLanguage(l, param('languages'))))];
      // OpenAI's diarizing model is asked for by name (or by its format); ours by the alias's name, whatever it maps to.
      const asked = f.model.endsWith('-diarize') || format === 'diarized_json';
      const diarization = task === 'transcribe' ? diarizationOption(f as SpeakerFields, upload.references.length, asked) : null;
      if (task === 'translate' && upload.references.length > 0) {
        throw new ApiError('invalid_parameter', "field 'known_speaker_references[]': translations have no speakers; use /v1/audio/transcriptions", 'known_speaker_references[]');
      }
      const model = resolveModel(f.model, config, dispatch.directory.modelNames());
      const language = 'language' in f ? checkLanguage(f.language as string | undefined) : null;
      checkModelLanguage(model, language, dispatch.directory.models());
      await transcribe(service, config, request, reply, upload, {
        model,
        options: {
          task,
          language,
          word_timestamps: words || logprobs, // a word's probability is all faster-whisper gives to make logprobs of
          ...(hotwords && { hotwords }),
          ...(candidates.length > 0 && { language_candidates: candidates as [Language, ...Language[]] }),
          ...(f.temperature !== undefined && { temperature: f.temperature }),
          ...(f.prompt && { initial_prompt: f.prompt }),
          ...(diarization && { diarization }),
        },
        format,
        stream: f.stream ? 'openai' : false,
        cue: DEFAULT_CUE_OPTIONS,
        words,
        openai: { usage: task === 'transcribe', logprobs },
      }, 'openai');
    } finally {
      await upload.remove();
    }
  }
}

const HOTWORDS_MAX = optionSchema('hotwords').maxLength as number;

/** `keywords[]` as Whisper's hotwords: one hint text, the phrases kept apart by commas. */
function hotwordsOf(keywords: string[], param: string): string {
  const text = keywords.map((k) => k.trim()).filter(Boolean).join(', ');
  if (text.length > HOTWORDS_MAX) throw new ApiError('invalid_parameter', `field '${param}': ${text.length} characters in all; at most ${HOTWORDS_MAX}`, param);
  return text;
}

function candidateLanguage(code: string, param: string): Language {
  const language = code.trim().toLowerCase();
  if (!isLanguage(language)) {
    throw new ApiError('unknown_language', `field '${param}': '${code}' is not a language Whisper knows. Use ISO-639-1 codes: ${LANGUAGES.join(', ')}.`, param);
  }
  return language;
}
