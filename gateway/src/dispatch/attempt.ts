// One attempt of a job on one worker, over a data link of its own: the
// transcribe request and its audio frame, the worker's replies as job events,
// and cancel.
//
// Cancel. The worker's `cancel` reaches only requests of the connection it
// arrives on, and the worker reads a request's audio frame before any other
// frame of that connection (protocol §3). So:
// - once the audio is written, `cancel` is sent on the attempt's own data link:
//   the worker answers the transcription with `cancelled` when its slot is free
//   again, so the gateway's count of busy slots stays true, and the link is
//   clean and kept for the next job;
// - while the audio is still being written, a cancel could not be read before
//   the rest of the upload: the data link is closed instead, and the worker
//   drops the partial upload (nothing ran there yet, so no slot is held).
import type { DataLinks } from '../workers/data-links.ts';
import type { Reply, WorkerConnection } from '../workers/connection.ts';
import type { JobError, JobEvent, JobSpec } from './types.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';

export type AttemptEnd = { type: 'result'; result: TranscriptionResult } | { type: 'error'; error: JobError };

export class Attempt {
  private readonly links: DataLinks;
  private readonly requestId: string;
  private readonly spec: JobSpec;
  private readonly onEvent: (event: JobEvent) => void;
  private readonly onEnd: (end: AttemptEnd) => void;
  private link: WorkerConnection | null = null;
  private cancelled = false;
  private ended = false;

  constructor(links: DataLinks, requestId: string, spec: JobSpec, onEvent: (event: JobEvent) => void, onEnd: (end: AttemptEnd) => void) {
    this.links = links;
    this.requestId = requestId;
    this.spec = spec;
    this.onEvent = onEvent;
    this.onEnd = onEnd;
  }

  start(): void {
    this.links.acquire().then(
      (link) => this.send(link),
      (e: Error) => this.finish({ type: 'error', error: { code: 'worker_lost', message: e.message } }),
    );
  }

  cancel(): void {
    if (this.cancelled || this.ended) return;
    this.cancelled = true;
    const link = this.link;
    if (!link) return; // still connecting: send() sees the flag
    if (link.writing) link.close('the job was cancelled while its audio was being sent');
    else link.send({ command: 'cancel', target: this.requestId }, () => {});
  }

  private send(link: WorkerConnection): void {
    this.link = link;
    if (this.cancelled) {
      this.finish({ type: 'error', error: { code: 'cancelled', message: 'the job was cancelled' } });
      return;
    }
    const { model, options, audioPath, audioBytes, references = [] } = this.spec;
    const onReply = (reply: Reply) => this.onReply(reply);
    if (this.spec.command === 'detect_language') {
      link.send({ id: this.requestId, command: 'detect_language', model }, onReply, { path: audioPath, bytes: audioBytes });
      return;
    }
    const audio = [{ path: audioPath, bytes: audioBytes }, ...references];
    link.send({ id: this.requestId, command: 'transcribe', model, options }, onReply, audio);
  }

  private onReply(reply: Reply): void {
    const event = toEvent(reply);
    if (event) this.onEvent(event);
    else if (reply.type === 'result') this.finish({ type: 'result', result: reply.result as TranscriptionResult });
    else if (reply.type === 'error') this.finish({ type: 'error', error: reply.error });
  }

  private finish(end: AttemptEnd): void {
    if (this.ended) return;
    this.ended = true;
    if (this.link) this.links.release(this.link);
    this.onEnd(end);
  }
}

/** A worker's event as a job event: the reply was checked against the protocol schema on arrival. */
function toEvent(reply: Reply): JobEvent | null {
  switch (reply.type) {
    case 'queued':
      return { type: 'queued', position: reply.position };
    case 'info':
      return { type: 'info', language: reply.language, language_probability: reply.language_probability, duration: reply.duration, model: reply.model, ...(reply.speakers && { speakers: reply.speakers }) };
    case 'progress':
      return { type: 'progress', processed: reply.processed, duration: reply.duration };
    case 'segment':
      return { type: 'segment', segment: reply.segment };
    default:
      return null;
  }
}
