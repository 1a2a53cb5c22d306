// A realtime API client for the tests, over a real WebSocket (the `ws`
// package): events are kept in arrival order and taken by type, so a test
// waits for what it expects and never sleeps.
import WebSocket from 'ws';

export type ServerEvent = Record<string, any> & { type: string; event_id: string };

export interface Connect {
  headers?: Record<string, string>;
  protocols?: string[];
  query?: string;
}

export class RealtimeClient {
  readonly socket: WebSocket;
  /** Every event received, in order (take() does not remove them from here). */
  readonly received: ServerEvent[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly queue: ServerEvent[] = [];
  private wake: (() => void) | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const event = JSON.parse(data.toString()) as ServerEvent;
      this.received.push(event);
      this.queue.push(event);
      this.wake?.();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.wake?.();
    }));
  }

  /** Opens a session; rejects with the HTTP status when the upgrade is refused (`status` on the error). */
  static connect(baseUrl: string, options: Connect = {}): Promise<RealtimeClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/v1/realtime?${options.query ?? 'intent=transcription'}`;
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    const client = new RealtimeClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode} ${body}`), { status: response.statusCode, body: JSON.parse(body || '{}') })));
      });
      socket.once('error', reject);
    });
  }

  send(event: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(event));
  }

  /** PCM16 as input_audio_buffer.append events. */
  append(pcm: Buffer, eventId?: string): void {
    this.send({ type: 'input_audio_buffer.append', audio: pcm.toString('base64'), ...(eventId && { event_id: eventId }) });
  }

  /** The first event of `type` not taken yet (that `match` accepts), waiting up to `timeoutMs` for it. */
  async take(type: string, match: (e: ServerEvent) => boolean = () => true, timeoutMs = 10_000): Promise<ServerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.queue.findIndex((e) => e.type === type && match(e));
      if (index >= 0) return this.queue.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0 || this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`no '${type}' event within ${timeoutMs} ms; received: ${this.received.map((e) => e.type).join(', ')}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** The next `error` event, checked for OpenAI's shape. */
  async error(): Promise<ServerEvent['error']> {
    return (await this.take('error')).error;
  }

  /** Events of `type` not taken yet. */
  pending(type: string): ServerEvent[] {
    return this.queue.filter((e) => e.type === type);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(1000);
    await this.closed;
  }
}

/** `ms` of PCM16 at `rate`: a tone (speech, to the fake worker) or zeros (silence). */
export function pcm(ms: number, rate = 24000, silent = false): Buffer {
  const samples = Math.round((rate * ms) / 1000);
  const out = Buffer.alloc(samples * 2);
  if (!silent) for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  return out;
}
