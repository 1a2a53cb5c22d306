// OpenAI's audio API as a drop-in: the official SDKs work unchanged.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import type { Dispatch } from '../../dispatch/types.ts';
import type { JobService } from '../../jobs/service.ts';
import {
  OpenAIModelList, OpenAITranscriptionForm, OpenAITranscriptionResult, OpenAITranslationForm, TRANSCRIPTION_ERRORS, responses, sendAsIs,
} from '../schemas.ts';
import { parseFields } from '../form-fields.ts';
import { receiveUpload } from '../uploads.ts';
import { checkLanguage, resolveModel, transcribe } from '../transcribe.ts';
import { DEFAULT_CUE_OPTIONS } from '../../formats/subtitles.ts';
import type { ResponseFormat } from '../../formats/responses.ts';
import { skipBodyValidation } from './api.ts';
import { diarizationOption, type SpeakerFields } from '../speakers.ts';
import { ApiError } from '../../errors.ts';

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
      const f = task === 'transcribe' ? parseFields(OpenAITranscriptionForm, upload.fields) : parseFields(OpenAITranslationForm, upload.fields);
      const granularities = (('timestamp_granularities[]' in f ? f['timestamp_granularities[]'] : undefined) ?? []) as string[];
      const words = granularities.includes('word');
      const format = (f.response_format ?? 'json') as ResponseFormat;
      // OpenAI's diarizing model is asked for by name (or by its format); ours by the alias's name, whatever it maps to.
      const asked = f.model.endsWith('-diarize') || format === 'diarized_json';
      const diarization = task === 'transcribe' ? diarizationOption(f as SpeakerFields, upload.references.length, asked) : null;
      if (task === 'translate' && upload.references.length > 0) {
        throw new ApiError('invalid_parameter', "field 'known_speaker_references[]': translations have no speakers; use /v1/audio/transcriptions", 'known_speaker_references[]');
      }
      await transcribe(service, config, request, reply, upload, {
        model: resolveModel(f.model, config, dispatch.directory.modelNames()),
        options: {
          task,
          language: 'language' in f ? checkLanguage(f.language as string | undefined) : null,
          word_timestamps: words,
          ...(f.temperature !== undefined && { temperature: f.temperature }),
          ...(f.prompt && { initial_prompt: f.prompt }),
          ...(diarization && { diarization }),
        },
        format,
        stream: f.stream ? 'openai' : false,
        cue: DEFAULT_CUE_OPTIONS,
        words,
      }, 'openai');
    } finally {
      await upload.remove();
    }
  }
}
