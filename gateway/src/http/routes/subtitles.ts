// Subtitles from segments a client already has (the UI's result, a transcript
// from its history): the same renderer, and line wrapping, as response_format.
import type { FastifyInstance } from 'fastify';
import { SubtitlesBody, SubtitlesFile, type SubtitlesRequest } from '../schemas.ts';
import { responses } from '../route-responses.ts';
import { strictJsonBody } from '../validation.ts';
import { renderSubtitles } from '../../formats/responses.ts';
import { DEFAULT_CUE_OPTIONS } from '../../formats/subtitles.ts';

export function subtitleRoutes(app: FastifyInstance): void {
  app.post<{ Body: SubtitlesRequest }>(
    '/api/subtitles',
    {
      bodyLimit: 32 << 20,
      validatorCompiler: strictJsonBody,
      schema: {
        tags: ['api'],
        summary: 'Render segments as SRT, VTT, TSV or text',
        body: SubtitlesBody,
        response: responses({ 200: SubtitlesFile }),
      },
    },
    async (request, reply) => {
      const { format, segments, max_line_width, max_line_count } = request.body;
      const cue = { maxLineWidth: max_line_width ?? DEFAULT_CUE_OPTIONS.maxLineWidth, maxLineCount: max_line_count ?? DEFAULT_CUE_OPTIONS.maxLineCount };
      const out = renderSubtitles(format, segments, cue);
      return reply.type(out.contentType).send(out.body);
    },
  );
}
