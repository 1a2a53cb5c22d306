// The fake worker's live streams (protocol §4), scripted for the gateway's
// edge cases: any non-zero audio frame is speech (one word each: ` w1`, ` w2`
// …, sent as a delta), an all-zero frame is the silence that ends an
// utterance when the stream has turn detection. The first speech takes a slot
// (`slot` held), idle() gives every slot back, close gives it back too.
import type net from 'node:net';

interface Utterance {
  item: number;
  startMs: number;
  words: string[];
}

interface Stream {
  id: string;
  socket: net.Socket;
  rate: number;
  vad: boolean;
  audioMs: number;
  items: number;
  words: number;
  slot: boolean;
  utterance: Utterance | null;
}

export interface StreamLog {
  /** Each stream request as it arrived. */
  opened: Array<{ id: string; model: string; options: Record<string, unknown> }>;
  /** Bytes of each stream_audio frame. */
  frames: number[];
  /** The stream commands, in order of arrival. */
  commands: string[];
  cancelled: string[];
}

type Reply = (socket: net.Socket, message: object) => void;

export class FakeStreams {
  readonly log: StreamLog = { opened: [], frames: [], commands: [], cancelled: [] };
  /** While set, every stream_audio frame is refused with buffer_full, as a worker whose stream holds too much undecoded audio. */
  full = false;
  private readonly streams = new Map<string, Stream>();
  private readonly reply: Reply;

  constructor(reply: Reply) {
    this.reply = reply;
  }

  /** Streams holding a slot now (the status's `running` counts them). */
  get held(): number {
    return [...this.streams.values()].filter((s) => s.slot).length;
  }

  /** Every stream gives its slot back, as after 3 s without speech. */
  idle(): void {
    for (const s of this.streams.values()) this.slot(s, false);
  }

  /** A stream command other than stream_audio; false when `request` is none. */
  request(socket: net.Socket, request: Record<string, unknown>): boolean {
    const id = String(request.id);
    const command = String(request.command);
    if (!['stream', 'stream_commit', 'stream_clear', 'stream_close'].includes(command)) return false;
    this.log.commands.push(command);
    if (command === 'stream') {
      this.open(socket, id, request);
      return true;
    }
    const s = this.find(socket, request);
    if (!s) return true;
    if (command === 'stream_commit') {
      const item = s.utterance ? this.endUtterance(s) : null;
      this.reply(socket, { id, type: 'result', result: { item } });
    } else if (command === 'stream_clear') {
      const cleared = s.utterance ? Math.round(s.audioMs - s.utterance.startMs) : 0;
      s.utterance = null;
      this.reply(socket, { id, type: 'result', result: { cleared_ms: cleared } });
    } else {
      if (s.utterance) this.endUtterance(s);
      this.slot(s, false);
      this.streams.delete(s.id);
      this.reply(socket, { id: s.id, type: 'result', result: { audio_ms: Math.round(s.audioMs), items: s.items } });
      this.reply(socket, { id, type: 'result', result: { closed: true } });
    }
    return true;
  }

  audio(socket: net.Socket, request: Record<string, unknown>, frame: Buffer): void {
    this.log.commands.push('stream_audio');
    this.log.frames.push(frame.length);
    const s = this.find(socket, request);
    if (!s) return;
    if (frame.length % 2 !== 0) return this.reply(socket, { id: request.id, type: 'error', error: { code: 'bad_request', message: 'an odd number of bytes' } });
    if (this.full) return this.reply(socket, { id: request.id, type: 'error', error: { code: 'buffer_full', message: 'the stream holds 60 s of audio without a final' } });
    const ms = (frame.length / 2 / s.rate) * 1000;
    if (frame.some((b) => b !== 0)) {
      this.slot(s, true);
      if (!s.utterance) {
        s.utterance = { item: s.items, startMs: Math.round(s.audioMs), words: [] };
        this.reply(socket, { id: s.id, type: 'speech_started', item: s.utterance.item, audio_start_ms: s.utterance.startMs });
      }
      const word = `w${++s.words}`;
      s.utterance.words.push(word);
      this.reply(socket, { id: s.id, type: 'delta', item: s.utterance.item, text: ` ${word}`, pending: ' more' });
    }
    if (frame.every((b) => b === 0) && s.utterance && s.vad) this.endUtterance(s); // it ended where the silence began
    s.audioMs += ms;
    this.reply(socket, { id: request.id, type: 'result', result: { received_ms: Math.round(s.audioMs) } });
  }

  /** `cancel` of a stream on its own connection: true when there was one. */
  cancel(socket: net.Socket, target: string): boolean {
    const s = this.streams.get(target);
    if (!s || s.socket !== socket) return false;
    this.drop(s);
    this.reply(socket, { id: s.id, type: 'error', error: { code: 'cancelled', message: 'cancelled' } });
    return true;
  }

  /** A connection closed: its streams are cancelled and their slots freed. */
  closed(socket: net.Socket): void {
    for (const s of [...this.streams.values()]) if (s.socket === socket) this.drop(s);
  }

  private open(socket: net.Socket, id: string, request: Record<string, unknown>): void {
    const options = (request.options ?? {}) as Record<string, unknown>;
    this.log.opened.push({ id, model: String(request.model), options });
    if (!['tiny.en', 'base'].includes(String(request.model))) {
      return this.reply(socket, { id, type: 'error', error: { code: 'unknown_model', message: `'${String(request.model)}' is not a model` } });
    }
    const vad = options.turn_detection !== null;
    this.streams.set(id, { id, socket, rate: Number(options.sample_rate ?? 16000), vad, audioMs: 0, items: 0, words: 0, slot: false, utterance: null });
  }

  private find(socket: net.Socket, request: Record<string, unknown>): Stream | undefined {
    const s = this.streams.get(String(request.stream));
    if (s && s.socket === socket) return s;
    this.reply(socket, { id: request.id, type: 'error', error: { code: 'bad_request', message: `no stream '${String(request.stream)}' is open on this connection` } });
    return undefined;
  }

  private endUtterance(s: Stream): number {
    const u = s.utterance!;
    s.utterance = null;
    s.items += 1;
    const end = Math.round(s.audioMs);
    this.reply(s.socket, { id: s.id, type: 'speech_stopped', item: u.item, audio_end_ms: end });
    this.reply(s.socket, { id: s.id, type: 'final', item: u.item, text: u.words.join(' '), language: 'en', audio_start_ms: u.startMs, audio_end_ms: end, decode_seconds: 0.01 });
    return u.item;
  }

  private slot(s: Stream, held: boolean): void {
    if (s.slot === held) return;
    s.slot = held;
    this.reply(s.socket, { id: s.id, type: 'slot', held });
  }

  private drop(s: Stream): void {
    this.streams.delete(s.id);
    s.slot = false;
    this.log.cancelled.push(s.id);
  }
}
