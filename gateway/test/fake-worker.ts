// A scripted stand-in for the worker, for the gateway's edge cases only
// (the real paths are tested against the real worker). Like the real one it
// reads a request's audio frame before any other frame of that connection,
// cancels only requests of the connection the cancel arrives on, and cancels
// a connection's requests when it closes.
import net from 'node:net';
import { once } from 'node:events';
import { encodeJson, FrameDecoder } from '../src/protocol/frames.ts';
import { FakeStreams } from './fake-stream.ts';

export interface FakeOptions {
  slots?: number;
  loaded?: string[];
  answerStatus?: boolean; // false: accepts connections but never answers (can be changed on the fake)
  transcribeMs?: number; // how long a transcription takes
  manual?: boolean; // transcriptions end only when finish() is called (no timers at all)
  readBytesPerSecond?: number; // reads each connection this slowly, as behind a slow link
  dropData?: boolean; // closes a connection as soon as a transcription's audio has arrived on it
  token?: string; // WORKER_TOKEN: each connection must begin with hello carrying it, as the real worker asks
}

export interface FakeWorker {
  address: string;
  port: number;
  transcriptions: string[]; // ids, in the order they arrived
  audioBytes: number[]; // bytes of each audio frame received
  cancelled: string[]; // by `cancel` or by their connection closing
  dropped: string[]; // requests whose connection dropData closed
  statusAnswered: number[]; // when each status was answered (Date.now())
  uploads: Array<{ id: string; start: number; end: number | null }>; // each audio frame, from its request to its last byte
  controlConnections: number; // connections that asked status or list_models
  firstCommands: string[]; // the first command of each connection, in order
  refused: number; // connections refused for their token
  answerStatus: boolean;
  /** Live streams (./fake-stream.ts): what arrived, and idle() to give their slots back. */
  streams: FakeStreams;
  /** Closes every connection of that kind: control (status, list_models) or data (transcribe). */
  drop(kind: 'control' | 'data'): void;
  /** manual: ends the oldest running transcription with its result. */
  finish(): void;
  close(): Promise<void>;
}

/** A status reply complete by the protocol schema (the gateway checks every reply). */
function fakeStatus(options: FakeOptions, running: number) {
  const now = Date.now() / 1000;
  return {
    version: '0.0.0', protocol: 1, device: 'fake', compute_type: 'int8', cpu_threads: 1, slots: options.slots ?? 1, running, queued: 0, queue_limit: 4,
    models: (options.loaded ?? []).map((name) => ({ name, in_use: 0, loaded_at: now, last_used: now })),
    memory: { rss_bytes: 1, gpu_used_bytes: null, gpu_total_bytes: null },
    limits: { max_json_frame: 1 << 20, max_audio_frame: 1 << 30 },
  };
}

function resultFor(id: string, model: unknown) {
  return { text: `done ${id}`, language: 'en', language_probability: 1, duration: 1, task: 'transcribe', model, segments: [], timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0 } };
}

interface Running {
  id: string;
  socket: net.Socket;
  end(): void; // sends the result
  stop(): void; // forgets it without a reply
}

export async function startFakeWorker(options: FakeOptions = {}, port = 0): Promise<FakeWorker> {
  const sockets = new Map<net.Socket, 'control' | 'data' | 'new'>();
  const running: Running[] = [];
  const forget = (r: Running) => running.splice(running.indexOf(r), 1);
  const fake: FakeWorker = {
    address: '', port: 0, transcriptions: [], audioBytes: [], cancelled: [], dropped: [], statusAnswered: [], uploads: [], controlConnections: 0,
    firstCommands: [], refused: 0, streams: new FakeStreams((socket, message) => !socket.destroyed && socket.write(encodeJson(message))),
    answerStatus: options.answerStatus ?? true,
    drop(kind) {
      for (const [socket, k] of sockets) if (k === kind) socket.destroy();
    },
    finish() {
      const r = running[0];
      if (!r) throw new Error('no transcription is running');
      forget(r);
      r.end();
    },
    async close() {
      for (const s of sockets.keys()) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };

  const server = net.createServer((socket) => {
    sockets.set(socket, 'new');
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      fake.streams.closed(socket);
      for (const r of running.filter((r) => r.socket === socket)) {
        r.stop();
        forget(r);
        fake.cancelled.push(r.id);
      }
    });
    const decoder = new FrameDecoder({ maxJsonFrame: 1 << 20, maxAudioFrame: 1 << 30 });
    let pending: Record<string, unknown> | null = null; // the transcribe whose audio frame comes next
    const reply = (message: object) => !socket.destroyed && socket.write(encodeJson(message));
    const mark = (kind: 'control' | 'data') => {
      if (sockets.get(socket) !== 'new') return;
      sockets.set(socket, kind);
      if (kind === 'control') fake.controlConnections += 1;
    };

    const onAudio = (request: Record<string, unknown>, audio: Buffer) => {
      if (request.command === 'stream_audio') return fake.streams.audio(socket, request, audio);
      const id = String(request.id);
      fake.audioBytes.push(audio.length);
      fake.uploads.find((u) => u.id === id && u.end === null)!.end = Date.now();
      if (options.dropData) {
        fake.dropped.push(id);
        socket.destroy();
        return;
      }
      fake.transcriptions.push(id);
      reply({ id, type: 'info', language: 'en', language_probability: 1, duration: 1, model: request.model });
      const end = () => reply({ id, type: 'result', result: resultFor(id, request.model) });
      let timer: NodeJS.Timeout | undefined;
      const r: Running = { id, socket, end, stop: () => clearTimeout(timer) };
      running.push(r);
      if (!options.manual) {
        timer = setTimeout(() => {
          forget(r);
          end();
        }, options.transcribeMs ?? 10);
      }
    };

    let admitted: boolean | null = null; // decided by the connection's first request
    const refused = () => admitted === false;
    const authenticated = (request: Record<string, unknown>): boolean => {
      if (admitted !== null) return admitted;
      fake.firstCommands.push(String(request.command));
      admitted = options.token === undefined || (request.command === 'hello' && request.token === options.token);
      if (!admitted) {
        fake.refused += 1;
        reply({ id: request.id, type: 'error', error: { code: 'unauthorized', message: 'wrong or missing token' } });
        socket.end();
      }
      return admitted;
    };

    const onRequest = (request: Record<string, unknown>) => {
      if (!authenticated(request)) return;
      if (request.command === 'hello') {
        reply({ id: request.id, type: 'result', result: { protocol: 1 } });
        return;
      }
      if (request.command === 'stream_audio') {
        mark('data');
        pending = request;
        return;
      }
      if (fake.streams.request(socket, request)) return mark('data');
      if (request.command === 'transcribe') {
        mark('data');
        pending = request;
        fake.uploads.push({ id: String(request.id), start: Date.now(), end: null });
        return;
      }
      if (request.command === 'status' || request.command === 'list_models') mark('control');
      if (!fake.answerStatus) return;
      if (request.command === 'status') {
        fake.statusAnswered.push(Date.now());
        reply({ id: request.id, type: 'result', result: fakeStatus(options, running.length + fake.streams.held) });
      } else if (request.command === 'list_models') {
        reply({ id: request.id, type: 'result', result: { default: 'base', models: ['tiny.en', 'base'].map((name) => ({ name, available: true, loaded: false, path: `/models/${name}`, multilingual: !name.endsWith('.en'), languages: name.endsWith('.en') ? ['en'] : ['en', 'de'] })) } });
      } else if (request.command === 'cancel') {
        const target = running.find((r) => r.socket === socket && r.id === String(request.target));
        if (target) {
          target.stop();
          forget(target);
          fake.cancelled.push(target.id);
          reply({ id: target.id, type: 'error', error: { code: 'cancelled', message: 'cancelled' } });
        }
        reply({ id: request.id, type: 'result', result: { cancelled: Boolean(target) || fake.streams.cancel(socket, String(request.target)) } });
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (refused()) return; // nothing more is read from a refused connection
      for (const frame of decoder.feed(chunk, () => (pending ? 'audio' : 'json'))) {
        if (Buffer.isBuffer(frame)) {
          const request = pending!;
          pending = null;
          onAudio(request, frame);
        } else {
          onRequest(frame as Record<string, unknown>);
          if (refused()) return;
        }
      }
      if (options.readBytesPerSecond && !socket.destroyed) {
        // Backpressure as a slow link gives it: nothing more is read until this chunk's time is up.
        socket.pause();
        setTimeout(() => socket.resume(), (chunk.length / options.readBytesPerSecond) * 1000);
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  fake.port = (server.address() as net.AddressInfo).port;
  fake.address = `127.0.0.1:${fake.port}`;
  return fake;
}
