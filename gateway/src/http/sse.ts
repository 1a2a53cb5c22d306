// Server-Sent Events for a job: our events (/api: queued, started, info,
// progress, segment, result, error) or OpenAI's transcript.text.* (/v1).
// Each stored event carries its sequence number as the SSE id, so a client
// can resume with Last-Event-ID.
import type { FastifyReply } from 'fastify';
import { errorBody, fromJobError } from '../errors.ts';
import type { JobEvent } from '../dispatch/types.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';

export type Flavour = 'api' | 'openai';
type Shape = (result: TranscriptionResult) => unknown;

export function openStream(reply: FastifyReply): (name: string | null, data: unknown, id?: number) => void {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  return (name, data, id) => {
    if (reply.raw.writableEnded) return;
    reply.raw.write(`${id !== undefined ? `id: ${id}\n` : ''}${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  };
}

/** Our event name and data for a job event. */
export function apiEvent(event: JobEvent, shape: Shape): [string, unknown] {
  switch (event.type) {
    case 'queued':
      return ['queued', { position: event.position }];
    case 'started':
      return ['started', { worker: event.worker, attempt: event.attempt }];
    case 'info':
      return ['info', { language: event.language, language_probability: event.language_probability, duration: event.duration, model: event.model }];
    case 'progress':
      return ['progress', { processed: event.processed, duration: event.duration }];
    case 'segment': {
      const { id, start, end, text, words } = event.segment;
      return ['segment', { id, start, end, text, ...(words ? { words } : {}) }];
    }
    case 'done':
      return ['result', shape(event.result)];
    case 'failed':
      return ['error', errorBody(fromJobError(event.error.code, event.error.message))];
  }
}

/** OpenAI's streaming events: a delta per segment, then done; null for events it has no word for. */
export function openaiEvent(event: JobEvent): unknown {
  if (event.type === 'segment') return { type: 'transcript.text.delta', delta: event.segment.text };
  if (event.type === 'done') return { type: 'transcript.text.done', text: event.result.text };
  if (event.type === 'failed') return { type: 'error', ...errorBody(fromJobError(event.error.code, event.error.message)) };
  return null;
}
