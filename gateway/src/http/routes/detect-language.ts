// POST /api/detect-language: the language of an upload, without transcribing it.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../../config.ts';
import type { Dispatch } from '../../dispatch/types.ts';
import type { JobService } from '../../jobs/service.ts';
import { ApiError } from '../../errors.ts';
import { parseFields } from '../form-fields.ts';
import { REFERENCE_FIELD } from '../references.ts';
import { resolveModel } from '../transcribe.ts';
import { receiveUpload, type Upload } from '../uploads.ts';
import { sendAsIs } from '../schemas.ts';
import { responses } from '../route-responses.ts';
import type { ModelView } from '../../workers/types.ts';
import { checkMultilingual, DETECT_LANGUAGE_ERRORS, DetectedLanguage, DetectLanguageForm, detectLanguage } from '../language-detection.ts';

const skipBodyValidation = () => () => true; // multipart forms are checked after streaming, by parseFields

export function detectLanguageRoutes(app: FastifyInstance, config: Config, dispatch: Dispatch, service: JobService): void {
  app.post(
    '/api/detect-language',
    {
      validatorCompiler: skipBodyValidation,
      serializerCompiler: sendAsIs,
      schema: {
        tags: ['api'],
        summary: 'Detect the spoken language of an uploaded file (its first 30 s), without transcribing it',
        consumes: ['multipart/form-data'],
        body: DetectLanguageForm,
        response: responses({ 200: DetectedLanguage }, DETECT_LANGUAGE_ERRORS),
      },
    },
    async (request, reply) => {
      if (service.draining) throw new ApiError('shutting_down', 'The gateway is shutting down: send the request again in a few seconds.');
      const upload = await receiveUpload(request, config, service.uploadsDir);
      try {
        const model = detectionModel(upload, config, dispatch.directory.models());
        return await withDeadline(reply, config, (signal) => detectLanguage(dispatch.dispatcher, { model, audioPath: upload.path, audioBytes: upload.bytes }, signal));
      } finally {
        await upload.remove();
      }
    },
  );
}

function detectionModel(upload: Upload, config: Config, models: readonly ModelView[]): string {
  // Reference clips are not among the form's fields (receiveUpload keeps them apart): refused here by name.
  if (upload.references.length > 0) throw new ApiError('invalid_parameter', `unknown field '${REFERENCE_FIELD}'; accepted fields: file, model`, REFERENCE_FIELD);
  const { model: asked } = parseFields(DetectLanguageForm, upload.fields);
  const model = resolveModel(asked ?? config.defaultModel, config, models.map((m) => m.name));
  checkMultilingual(model, asked, models.find((m) => m.name === model)?.multilingual ?? null);
  return model;
}

/** Cancels the detection on the worker when the client leaves or REQUEST_TIMEOUT_MS passes. */
async function withDeadline<T>(reply: FastifyReply, config: Config, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort('gone');
  });
  const timer = config.requestTimeoutMs > 0 ? setTimeout(() => controller.abort('timeout'), config.requestTimeoutMs) : null;
  try {
    return await run(controller.signal);
  } catch (e) {
    if (controller.signal.reason !== 'timeout') throw e;
    throw new ApiError('timeout', `The detection took longer than REQUEST_TIMEOUT_MS=${config.requestTimeoutMs}; it was cancelled.`);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
