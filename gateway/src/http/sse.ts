// Server-Sent Events for a job: our events (/api: queued, started, info,
// progress, segment, result, error) or OpenAI's transcript.text.* (/v1).
// Each stored event carries its sequence number as the SSE id, so a client
// can resume with Last-Event-ID.
import type { FastifyReply } from 'fastify';
import { errorBody, fromJobError } from '../errors.ts';
import type { JobEvent } from '../dispatch/types.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';
import { namedSegments, type SpeakerList } from '../formats/speakers.ts';
import { plainSegmentEvent, segmentEvent, usage, resultLogprobs, wordLogprobs, type OpenAIExtras } from '../formats/responses.ts';

export type Flavour = 'api' | 'openai';
type Shape = (result: TranscriptionResult) => unknown;

/**
 * The speakers' names as a job's events tell them: the worker lists the
 * speakers in its `info` event, before the first segment, and segments carry
 * only ids. Null until then, and for a job without speakers.
 */
export class SpeakerNames {
  private list: SpeakerList | null = null;

  see(event: JobEvent): void {
    if (event.type === 'info' && event.speakers) this.list = { speakers: event.speakers };
  }

  get diarized(): boolean {
    return this.list !== null;
  }

  /** The speakers as the result will list them, once known. */
  get speakers(): SpeakerList {
    return this.list ?? {};
  }
}

export function openStream(reply: FastifyReply): (name: string | null, data: unknown, id?: number) => void {
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  return (name, data, id) => {
    if (reply.raw.writableEnded) return;
    reply.raw.write(`${id !== undefined ? `id: ${id}\n` : ''}${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  };
}

/** Our event name and data for a job event. */
export function apiEvent(event: JobEvent, shape: Shape, names = new SpeakerNames()): [string, unknown] {
  switch (event.type) {
    case 'queued':
      return ['queued', { position: event.position }];
    case 'started':
      return ['started', { worker: event.worker, attempt: event.attempt }];
    case 'info':
      return ['info', {
        language: event.language, language_probability: event.language_probability, duration: event.duration, model: event.model,
        ...(event.speakers && { speakers: event.speakers }),
      }];
    case 'progress':
      return ['progress', { processed: event.processed, duration: event.duration }];
    case 'segment': {
      const { id, start, end, text, words } = event.segment;
      if (!names.diarized) return ['segment', { id, start, end, text, ...(words ? { words } : {}) }];
      const [named] = namedSegments({ ...names.speakers, segments: [event.segment] } as TranscriptionResult);
      return ['segment', { id, start, end, text, speaker: named!.speaker, ...(named!.words ? { words: named!.words } : {}) }];
    }
    case 'done':
      return ['result', shape(event.result)];
    case 'failed':
      return ['error', errorBody(fromJobError(event.error.code, event.error.message))];
  }
}

/**
 * OpenAI's streaming events for a job event: per segment a `transcript.text.delta` (its text, with `logprobs`
 * when asked, and `segment_id` when diarized, as gpt-4o-transcribe-diarize sends it) then its
 * `transcript.text.segment` (with its speaker when diarized); at the end `transcript.text.done` (with `logprobs`
 * and `usage` as asked) or `error`; nothing for the events OpenAI has no word for.
 */
export function openaiEvents(event: JobEvent, names = new SpeakerNames(), extras: OpenAIExtras = { usage: false, logprobs: false }): unknown[] {
  switch (event.type) {
    case 'segment': {
      const segment = event.segment;
      const delta = {
        type: 'transcript.text.delta', delta: segment.text,
        ...(extras.logprobs && { logprobs: wordLogprobs(segment.words ?? []) }),
        ...(names.diarized && { segment_id: `seg_${segment.id}` }),
      };
      return [delta, names.diarized ? segmentEvent(segment, names.speakers) : plainSegmentEvent(segment)];
    }
    case 'done':
      return [{
        type: 'transcript.text.done', text: event.result.text,
        ...(extras.logprobs && { logprobs: resultLogprobs(event.result) }),
        ...(extras.usage && { usage: usage(event.result) }),
      }];
    case 'failed':
      return [{ type: 'error', ...errorBody(fromJobError(event.error.code, event.error.message)) }];
    default:
      return [];
  }
}
