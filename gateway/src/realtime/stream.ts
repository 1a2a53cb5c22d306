// One worker stream (protocol §4, Live streams) on a data link of its own.
// The link is opened lazily and asynchronously, but requests are written in
// the order they are made: each waits on the same promise of the link, and
// the link's write queue keeps them in that order. A stream ends once: its
// `stream` request's final reply, the link lost, or cancel().
import type { StreamLink } from '../workers/types.ts';
import { nextStream, streamCan, type StreamState } from './lifecycle.ts';
import type { AnyReply, ResultOf, StreamEventReply, StreamOptions } from '../protocol/messages.ts';

export interface WorkerError {
  code: string;
  message: string;
}

export interface StreamHandlers {
  /** speech_started, delta, speech_stopped, final (slot and queued are the stream's own business). */
  event(stream: WorkerStream, reply: StreamEventReply): void;
  /** The stream ended; `error` is null when it was closed or cancelled by this side. */
  ended(stream: WorkerStream, error: WorkerError | null): void;
}

type Outcome<C extends keyof ResultOf> = { result: ResultOf[C] } | { error: WorkerError } | null;

export class WorkerStream {
  readonly id: string;
  /** Session ms at this stream's first audio: the worker counts from there. */
  readonly offsetMs: number;
  readonly vad: boolean;
  /** The worker's address, once the link is open. */
  worker: string | null = null;
  private state: StreamState = 'open'; // its lifecycle (./lifecycle.ts)
  private link: StreamLink | null = null;
  private readonly ready: Promise<StreamLink | null>;
  private readonly handlers: StreamHandlers;
  private nextRequest = 0;

  constructor(id: string, offsetMs: number, vad: boolean, link: Promise<StreamLink>, request: { model: string; options: StreamOptions }, handlers: StreamHandlers) {
    this.id = id;
    this.offsetMs = offsetMs;
    this.vad = vad;
    this.handlers = handlers;
    this.ready = link.then(
      (l) => {
        this.worker = l.worker;
        if (this.state === 'ended') {
          l.release(); // cancelled while it was connecting
          return null;
        }
        this.link = l;
        l.send({ id, command: 'stream', model: request.model, options: request.options }, (reply) => this.onReply(reply));
        return l;
      },
      (e: { code?: string; message: string }) => {
        this.end({ code: e.code ?? 'no_worker', message: e.message });
        return null;
      },
    );
  }

  /**
   * PCM16 in frames the worker reads (an even number of bytes each). Resolves
   * once the worker has answered: with its refusal of a frame (`buffer_full`
   * for audio sent faster than it is transcribed), or null.
   */
  async audio(pcm: Buffer): Promise<WorkerError | null> {
    const outcome = await this.request('stream_audio', pcm);
    return outcome && 'error' in outcome ? outcome.error : null;
  }

  commit(): Promise<Outcome<'stream_commit'>> {
    return this.request('stream_commit');
  }

  clear(): Promise<Outcome<'stream_clear'>> {
    return this.request('stream_clear');
  }

  /** Ends it gracefully: the utterance in progress gets its final first; settles with the worker's answer. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = nextStream(this.state, 'close');
    await this.request('stream_close', undefined, true);
  }

  /** Drops it now: the link is closed, and the worker cancels the stream and frees its slot. */
  cancel(): void {
    this.end(null);
  }

  /**
   * Resolves with the result, the worker's error, or null when the stream ended before an answer.
   * Audio goes in as many stream_audio requests as the worker's frame limit needs; the first error counts.
   */
  private request<C extends 'stream_audio' | 'stream_commit' | 'stream_clear' | 'stream_close'>(command: C, audio?: Buffer, closing = false): Promise<Outcome<C>> {
    return this.ready.then(async (l) => {
      if (!l || this.state === 'ended' || (this.state === 'closing' && !closing)) return null;
      const size = Math.max(2, l.maxAudioFrame - (l.maxAudioFrame % 2));
      const frames = audio ? Array.from({ length: Math.ceil(audio.length / size) }, (_, i) => audio.subarray(i * size, (i + 1) * size)) : [undefined];
      const answers = frames.map((frame) => new Promise<Outcome<C>>((resolve) => {
        l.send({ id: `${this.id}.${++this.nextRequest}`, command, stream: this.id }, (reply) => {
          if (reply.type === 'result') resolve({ result: reply.result as ResultOf[C] });
          else if (reply.type === 'error') resolve(this.state === 'ended' ? null : { error: reply.error });
        }, frame);
      }));
      const outcomes = await Promise.all(answers);
      return outcomes.find((o) => o === null || 'error' in o) ?? outcomes.at(-1)!;
    });
  }

  private onReply(reply: AnyReply): void {
    if (this.state === 'ended') return;
    if (reply.type === 'result') return this.end(null);
    if (reply.type === 'error') return this.end(reply.error);
    if (reply.type === 'slot') return this.link?.slot(reply.held);
    if (reply.type === 'queued') return;
    this.handlers.event(this, reply as StreamEventReply);
  }

  private end(error: WorkerError | null): void {
    if (!streamCan(this.state, 'end')) return; // ended already: the first end stands
    this.state = nextStream(this.state, 'end');
    this.link?.release();
    this.handlers.ended(this, error);
  }
}
