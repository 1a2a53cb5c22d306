// A scripted stand-in for the worker, for the gateway's edge cases only
// (the real paths are tested against the real worker).
import net from 'node:net';
import { once } from 'node:events';
import { encodeJson, FrameDecoder } from '../src/protocol/frames.ts';

export interface FakeOptions {
  slots?: number;
  loaded?: string[];
  answerStatus?: boolean; // false: accepts connections but never answers
  transcribeMs?: number; // how long a transcription takes
}

export interface FakeWorker {
  address: string;
  port: number;
  transcriptions: string[]; // ids, in the order they arrived
  audioBytes: number[]; // bytes of each audio frame received
  cancelled: string[];
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

export async function startFakeWorker(options: FakeOptions = {}, port = 0): Promise<FakeWorker> {
  const fake: Omit<FakeWorker, 'address' | 'port' | 'close'> = { transcriptions: [], audioBytes: [], cancelled: [] };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new FrameDecoder({ maxJsonFrame: 1 << 20, maxAudioFrame: 1 << 30 });
    let audioNext = false;
    let pending: Record<string, unknown> | null = null;
    const timers = new Map<string, NodeJS.Timeout>();
    const reply = (message: object) => !socket.destroyed && socket.write(encodeJson(message));
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.feed(chunk, () => (audioNext ? 'audio' : 'json'))) {
        if (Buffer.isBuffer(frame)) {
          audioNext = false;
          fake.audioBytes.push(frame.length);
          const request = pending!;
          const id = String(request.id);
          fake.transcriptions.push(id);
          reply({ id, type: 'info', language: 'en', language_probability: 1, duration: 1, model: request.model });
          timers.set(id, setTimeout(() => {
            timers.delete(id);
            reply({ id, type: 'result', result: { text: `done ${id}`, language: 'en', language_probability: 1, duration: 1, task: 'transcribe', model: request.model, segments: [], timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0 } } });
          }, options.transcribeMs ?? 10));
          continue;
        }
        const request = frame as Record<string, unknown>;
        if (options.answerStatus === false) continue;
        if (request.command === 'transcribe') {
          pending = request;
          audioNext = true;
        } else if (request.command === 'status') {
          reply({ id: request.id, type: 'result', result: fakeStatus(options, timers.size) });
        } else if (request.command === 'list_models') {
          reply({ id: request.id, type: 'result', result: { default: 'base', models: ['tiny.en', 'base'].map((name) => ({ name, available: true, loaded: false, path: `/models/${name}` })) } });
        } else if (request.command === 'cancel') {
          const target = String(request.target);
          const timer = timers.get(target);
          if (timer) {
            clearTimeout(timer);
            timers.delete(target);
            fake.cancelled.push(target);
            reply({ id: target, type: 'error', error: { code: 'cancelled', message: 'cancelled' } });
          }
          reply({ id: request.id, type: 'result', result: { cancelled: Boolean(timer) } });
        }
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actual = (server.address() as net.AddressInfo).port;
  return {
    ...fake,
    address: `127.0.0.1:${actual}`,
    port: actual,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
