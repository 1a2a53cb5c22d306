// One realtime transcription session: OpenAI's client events in, worker
// stream commands out, and the worker's stream events back as OpenAI's server
// events. The worker stream is opened on the first audio, and again after a
// settings change (the old one is closed: its utterance still gets its final)
// or after its worker was lost (on another worker when one is up). When the
// session ends, its finals are stored as a finished job under the session's id.
import type { TranscriptionResult } from '../protocol/messages.ts';
import type { StreamHost } from '../workers/types.ts';
import type { Language, StreamEventReply } from '../protocol/messages.ts';
import type { SessionOutcome } from '../http/metrics.ts';
import { randomBytes } from 'node:crypto';
import { parseClientEvent } from './events.ts';
import { owned, type Log } from '../owned.ts';
import { nextSession, type SessionState } from './lifecycle.ts';
import { fromWorker, RealtimeError } from './errors.ts';
import { decodePcm16 } from './audio.ts';
import { WorkerStream, type WorkerError } from './stream.ts';
import { sessionResult, type Final } from './transcript.ts';
import {
  applyBetaUpdate, applyUpdate, betaSessionObject, initialOptions, sameStream, sessionObject, streamRequest, type Names, type SessionOptions,
} from './options.ts';

export interface SessionContext extends Names {
  /** The session's id, and the id of the job it is stored as. */
  id: string;
  streams: StreamHost;
  /** Sends a server event; the caller gives it its event_id. */
  send(event: Record<string, unknown>): void;
  /** Ends the session from this side (the WebSocket's close code and reason). */
  close(code: number, reason: string): void;
  store(result: TranscriptionResult, session: { language: Language | null; audioBytes: number; startedAt: number }): Promise<void>;
  log: Log;
}

// A worker answers each append at once (it only buffers it): this much unanswered means its link is backed up.
// One append of any size is sent when nothing waits (OpenAI takes up to 15 MiB in one).
const UNANSWERED_LIMIT_MS = 30_000;
// Refused audio before the session is closed, counted until FORGIVEN_AFTER_MS pass with no refusal: a client that
// slows down on the first errors never meets it, one that keeps flooding does, however the worker's pace interleaves.
export const REFUSED_LIMIT_MS = 30_000;
const FORGIVEN_AFTER_MS = 10_000;

export class RealtimeSession {
  readonly startedAt = Date.now();
  private readonly ctx: SessionContext;
  private options: SessionOptions;
  private stream: WorkerStream | null = null;
  private readonly live = new Set<WorkerStream>(); // not ended yet: the current one, and those closing
  private readonly itemIds = new Map<string, string>(); // `${stream}#${item}` → item_…
  private previousItem: string | null = null;
  private readonly finals: Final[] = [];
  private audioMs = 0;
  private audioBytes = 0;
  private unanswered = 0; // ms of audio sent to the worker and not answered yet
  private refusedMs = 0; // refused with no pause of FORGIVEN_AFTER_MS between refusals
  private lastRefusal = 0;
  private opened = 0;
  private model: string;
  private readonly lostOn = new Set<string>(); // workers a stream of this session was lost on
  private state: SessionState = 'idle'; // its lifecycle (./lifecycle.ts)
  private outcome: Promise<SessionOutcome> | null = null;

  constructor(ctx: SessionContext, urlModel?: string) {
    this.ctx = ctx;
    this.options = initialOptions(ctx, urlModel);
    this.model = this.options.workerModel;
  }

  start(): void {
    this.ctx.send({ type: 'session.created', session: sessionObject(this.ctx.id, this.options) });
  }

  private get over(): boolean {
    return this.state === 'ending' || this.state === 'ended';
  }

  /** One WebSocket text message. */
  receive(data: string): void {
    if (this.over) return;
    try {
      const event = parseClientEvent(data);
      const id = event.event_id ?? null;
      switch (event.type) {
        case 'session.update':
          return this.update(applyUpdate(this.options, event.session, this.ctx, id), 'session.updated');
        case 'transcription_session.update':
          return this.update(applyBetaUpdate(this.options, event.session, this.ctx, id), 'transcription_session.updated');
        case 'input_audio_buffer.append':
          return this.append(decodePcm16(event.audio, id), id);
        case 'input_audio_buffer.commit':
          return owned(this.ctx.log, `the commit of session ${this.ctx.id}`, this.commit(id));
        case 'input_audio_buffer.clear':
          return owned(this.ctx.log, `the clear of session ${this.ctx.id}`, this.clear(id));
      }
    } catch (e) {
      if (!(e instanceof RealtimeError)) throw e;
      this.ctx.send(e.event());
    }
  }

  /** Ends the session once: open streams are cancelled (the worker frees their slots), and the finals stored. */
  end(): Promise<SessionOutcome> {
    if (this.outcome) return this.outcome;
    this.state = nextSession(this.state, 'end');
    return (this.outcome = this.finish().finally(() => (this.state = nextSession(this.state, 'stored'))));
  }

  private update(next: SessionOptions, reply: 'session.updated' | 'transcription_session.updated'): void {
    if (this.stream && !sameStream(this.options, next)) {
      this.state = nextSession(this.state, 'settings');
      owned(this.ctx.log, `closing a stream of session ${this.ctx.id}`, this.stream.close());
      this.stream = null;
    }
    this.options = next;
    const session = reply === 'session.updated' ? sessionObject(this.ctx.id, next) : betaSessionObject(this.ctx.id, next);
    this.ctx.send({ type: reply, session });
  }

  /**
   * Audio for the worker. What the worker has not answered yet is bounded
   * here, and what it holds without a final is bounded there
   * (WHISPER_LIVE_MAX_BUFFERED_SECONDS): audio sent faster than it is
   * transcribed is refused with `buffer_full`, and a client that keeps
   * sending past REFUSED_LIMIT_MS of refused audio is disconnected (1008).
   */
  private append(pcm: Buffer, id: string | null): void {
    if (pcm.length === 0) return;
    const ms = (pcm.length / 2 / this.options.rate) * 1000;
    if (this.unanswered > 0 && this.unanswered + ms > UNANSWERED_LIMIT_MS) return this.refused(ms, pcm.length, id, `the gateway holds ${Math.round(this.unanswered / 1000)} s of audio the worker has not taken yet`);
    const stream = this.stream ?? this.openStream();
    this.unanswered += ms;
    this.audioBytes += pcm.length;
    this.audioMs += ms;
    const answered = stream.audio(pcm).then((error) => {
      this.unanswered -= ms;
      if (error === null) return;
      if (error.code === 'buffer_full') return this.refused(ms, pcm.length, id, error.message, true);
      this.ctx.send(fromWorker(error.code, error.message, id).event());
    });
    answered.catch((err: unknown) => this.ctx.log.error({ err, session: this.ctx.id }, 'an append to the worker failed'));
  }

  private refused(ms: number, bytes: number, id: string | null, why: string, counted = false): void {
    if (this.over) return;
    if (counted) (this.audioMs -= ms), (this.audioBytes -= bytes); // never heard: not part of the session's audio
    // Refusals add up until the client has sent nothing refused for a while: one that slows down starts afresh.
    if (Date.now() - this.lastRefusal > FORGIVEN_AFTER_MS) this.refusedMs = 0;
    this.lastRefusal = Date.now();
    this.refusedMs += ms;
    if (this.refusedMs > REFUSED_LIMIT_MS) {
      const message = `Audio kept coming faster than it is transcribed: ${Math.round(this.refusedMs / 1000)} s of it was refused. The session is closed; send audio at the pace it is spoken.`;
      this.ctx.send(new RealtimeError('buffer_full', message, 'audio', id).event());
      return this.ctx.close(1008, 'audio sent faster than it is transcribed');
    }
    const message = `This append was dropped (${why}): audio is sent faster than it is transcribed. Send it at the pace it is spoken; after ${REFUSED_LIMIT_MS / 1000} s of refused audio (with no pause of ${FORGIVEN_AFTER_MS / 1000} s between refusals) the session is closed.`;
    this.ctx.send(new RealtimeError('buffer_full', message, 'audio', id).event());
  }

  private async commit(id: string | null): Promise<void> {
    const outcome = this.stream ? await this.stream.commit() : { result: { item: null } };
    if (outcome === null) return; // the stream ended first: its error was sent
    if ('error' in outcome) return this.ctx.send(fromWorker(outcome.error.code, outcome.error.message, id).event());
    if (outcome.result.item === null) {
      const message = 'Nothing to commit: no audio was appended since the last utterance ended, was committed or cleared.';
      this.ctx.send(new RealtimeError('input_audio_buffer_commit_empty', message, null, id).event());
    }
  }

  private async clear(id: string | null): Promise<void> {
    const outcome = this.stream ? await this.stream.clear() : null;
    if (outcome && 'error' in outcome) return this.ctx.send(fromWorker(outcome.error.code, outcome.error.message, id).event());
    if (!this.over) this.ctx.send({ type: 'input_audio_buffer.cleared' });
  }

  private openStream(): WorkerStream {
    const request = streamRequest(this.options);
    const link = this.ctx.streams.streamLink(request.model, this.lostOn);
    // The worker's log names each stream `<session id>/<n>`, as it names a job's attempt.
    const stream = new WorkerStream(`${this.ctx.id}/${++this.opened}`, this.audioMs, this.options.turnDetection !== null, link, request, {
      event: (s, reply) => this.onEvent(s, reply),
      ended: (s, error) => this.onEnded(s, error),
    });
    this.state = nextSession(this.state, 'audio');
    this.model = request.model;
    this.stream = stream;
    this.live.add(stream);
    return stream;
  }

  private onEvent(stream: WorkerStream, reply: StreamEventReply): void {
    if (reply.type === 'queued' || reply.type === 'slot') return;
    const item = this.itemId(stream, reply.item);
    const ms = (workerMs: number) => Math.round(stream.offsetMs + workerMs);
    switch (reply.type) {
      case 'speech_started':
        if (stream.vad) this.ctx.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: ms(reply.audio_start_ms), item_id: item });
        return;
      case 'speech_stopped':
        if (stream.vad) this.ctx.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: ms(reply.audio_end_ms), item_id: item });
        this.ctx.send({ type: 'input_audio_buffer.committed', previous_item_id: this.previousItem, item_id: item });
        this.previousItem = item;
        return;
      case 'delta':
        // `pending` (not OpenAI's): the tentative words after the confirmed text; a delta of "" says only it changed.
        this.ctx.send({ type: 'conversation.item.input_audio_transcription.delta', item_id: item, content_index: 0, delta: reply.text, pending: reply.pending ?? '' });
        return;
      case 'final': {
        const final: Final = { text: reply.text, language: reply.language, startMs: ms(reply.audio_start_ms), endMs: ms(reply.audio_end_ms), decodeSeconds: reply.decode_seconds ?? 0 };
        this.finals.push(final);
        this.itemIds.delete(`${stream.id}#${reply.item}`);
        this.ctx.send({
          type: 'conversation.item.input_audio_transcription.completed', item_id: item, content_index: 0, transcript: reply.text,
          usage: { type: 'duration', seconds: Math.round(final.endMs - final.startMs) / 1000 },
          // Not OpenAI's: the utterance's language and where it lies in the session's audio.
          language: reply.language, audio_start_ms: final.startMs, audio_end_ms: final.endMs,
        });
      }
    }
  }

  private onEnded(stream: WorkerStream, error: WorkerError | null): void {
    this.live.delete(stream);
    if (this.stream === stream) {
      this.state = nextSession(this.state, 'stream_ended');
      this.stream = null;
    }
    if (!error || this.over) return;
    if (error.code === 'worker_lost' && stream.worker) this.lostOn.add(stream.worker);
    const message = error.code === 'worker_lost'
      ? `The worker transcribing this session was lost (${error.message}): the utterance in progress is lost. The next input_audio_buffer.append opens a new stream on a worker that is up.`
      : error.message;
    this.ctx.send(fromWorker(error.code, message).event());
  }

  private itemId(stream: WorkerStream, item: number): string {
    const key = `${stream.id}#${item}`;
    let id = this.itemIds.get(key);
    if (!id) this.itemIds.set(key, (id = `item_${randomBytes(12).toString('base64url')}`));
    return id;
  }

  private async finish(): Promise<SessionOutcome> {
    this.stream = null; // ending: a stream that ends now is no move of the session's
    for (const stream of [...this.live]) stream.cancel();
    const result = sessionResult(this.finals, { model: this.model, language: this.options.language, duration: this.audioMs / 1000 });
    if (result.segments.length === 0) return 'empty';
    try {
      await this.ctx.store(result, { language: this.options.language, audioBytes: this.audioBytes, startedAt: this.startedAt });
      return 'transcribed';
    } catch (err) {
      this.ctx.log.error({ err, session: this.ctx.id }, 'the realtime session could not be stored as a job');
      return 'failed';
    }
  }
}
