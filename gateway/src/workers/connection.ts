// One TCP connection to a worker, shaped like a database driver's: explicit
// states, requests multiplexed by id, and one write queue so that a request
// and its audio frame are never split by another frame (protocol §3). The
// pool gives each worker a control link (status, list_models) and data links
// (one transcription or live stream each), so nothing ever waits behind audio
// on this queue.
// With a WORKER_TOKEN, each connection begins with `hello` (protocol §2.1).
import net from 'node:net';
import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import { encodeJson, frameHeader, FrameDecoder, FrameError } from '../protocol/frames.ts';
import { checkReply, ProtocolError, type AnyReply, type Command, type Outgoing, type ResultOf } from '../protocol/messages.ts';

export type Reply = AnyReply;
export type AudioSource = { path: string; bytes: number } | Buffer;
export type ReplyListener = (reply: Reply) => void;

interface Pending {
  command: Command;
  listener: ReplyListener;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  drainTimeoutMs: number;
  maxReplyFrame: number;
  /** WORKER_TOKEN: sent in `hello`, the first request of the connection. */
  token?: string | null;
}

const PROTOCOL_VERSION = 1;
// A worker's `unauthorized` is the gateway's misconfiguration, never the client's fault: it becomes
// this reason for the worker being down, and worker_lost for the requests (no 401 to anyone).
const REFUSED = 'the worker refused WORKER_TOKEN: set the same WORKER_TOKEN on the gateway and the worker';
const REFUSED_NONE = 'the worker refused WORKER_TOKEN: it requires one and the gateway has none; set the same WORKER_TOKEN on the gateway and the worker';

export class WorkerRequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export class WorkerConnection {
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  closeReason = '';
  private readonly socket: net.Socket;
  private readonly options: ConnectionOptions;
  private readonly pending = new Map<string, Pending>();
  private readonly decoder: FrameDecoder;
  private writes: Promise<void> = Promise.resolve();
  private queuedWrites = 0;
  private nextId = 0;
  private readonly closeHandlers: Array<(reason: string) => void> = [];

  private constructor(socket: net.Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.decoder = new FrameDecoder({ maxJsonFrame: options.maxReplyFrame, maxAudioFrame: 0 });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.close(e.message));
    socket.on('close', () => this.close('the worker closed the connection'));
  }

  static async open(options: ConnectionOptions): Promise<WorkerConnection> {
    const socket = net.connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    try {
      await once(socket, 'connect');
    } catch (e) {
      socket.destroy();
      throw new WorkerRequestError('no_worker', `cannot reach the worker at ${options.host}:${options.port}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    const connection = new WorkerConnection(socket, options);
    connection.state = 'open';
    if (options.token) await connection.hello(options.token);
    return connection;
  }

  /** Waits for the worker's answer before anything else is sent: a refused link never carries audio. */
  private async hello(token: string): Promise<void> {
    let problem: WorkerRequestError | null = null;
    try {
      const { protocol } = await this.call({ command: 'hello', token }, this.options.connectTimeoutMs);
      if (protocol !== PROTOCOL_VERSION) problem = new WorkerRequestError('internal', `the worker speaks protocol ${protocol}, this gateway ${PROTOCOL_VERSION}`);
    } catch (e) {
      const { code, message } = e as WorkerRequestError;
      // worker_lost carries the refusal's reason already (dispatch); any other error reply is the worker's answer to hello.
      problem = new WorkerRequestError(code, code === 'worker_lost' || code === 'timeout' ? message : `the worker refused 'hello': ${message}`);
    }
    if (problem) {
      this.close(problem.message);
      throw problem;
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** True while a frame is still waiting to be written, or being written (an audio frame can take minutes). */
  get writing(): boolean {
    return this.queuedWrites > 0;
  }

  onClose(handler: (reason: string) => void): void {
    this.closeHandlers.push(handler);
  }

  /**
   * Sends a request; `listener` gets every reply with its id until the final one.
   * `audio` is its audio frame: a file streamed from disk (an upload), or bytes
   * in memory (a live stream's few hundred milliseconds).
   */
  send(message: Outgoing, listener: ReplyListener, audio?: AudioSource | AudioSource[]): string {
    const id = message.id ?? `g${++this.nextId}`;
    if (this.state !== 'open') {
      listener(lostReply(id, this.closeReason || 'the connection is closed'));
      return id;
    }
    this.pending.set(id, { command: message.command, listener });
    const frame = encodeJson({ ...message, id });
    const sources = audio === undefined ? [] : Array.isArray(audio) ? audio : [audio];
    this.queuedWrites += 1;
    this.writes = this.writes.then(async () => {
      // The files are opened before the request is written: a file that is gone fails
      // this request alone, while a failure mid-frame leaves the stream unusable.
      const files: Array<FileHandle | Buffer> = [];
      try {
        for (const source of sources) files.push(Buffer.isBuffer(source) ? source : await open(source.path, 'r'));
      } catch (e) {
        this.queuedWrites -= 1;
        this.pending.delete(id);
        await closeAll(files);
        // The error's code only: its message names the file, under the gateway's DATA_DIR, and job errors reach clients.
        listener({ id, type: 'error', error: { code: 'internal', message: `the upload could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` } });
        return;
      }
      try {
        await this.write(frame);
        for (const [i, file] of files.entries()) {
          if (Buffer.isBuffer(file)) {
            await this.write(frameHeader(file.length));
            await this.write(file);
          } else {
            await this.streamFile(file, (sources[i] as { bytes: number }).bytes);
          }
        }
      } catch (e) {
        this.close(`writing to the worker failed: ${(e as Error).message}`);
      } finally {
        this.queuedWrites -= 1;
        await closeAll(files);
      }
    });
    return id;
  }

  /** A request with exactly one reply (status, list_models, cancel…). */
  call<C extends Command>(message: Outgoing & { command: C }, timeoutMs: number): Promise<ResultOf[C]> {
    return new Promise((resolve, reject) => {
      let id = '';
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new WorkerRequestError('timeout', `the worker did not answer '${String(message.command)}' within ${timeoutMs} ms`));
      }, timeoutMs);
      id = this.send(message, (reply) => {
        if (reply.type !== 'result' && reply.type !== 'error') return;
        clearTimeout(timer);
        if (reply.type === 'result') resolve(reply.result as ResultOf[C]);
        else reject(new WorkerRequestError(reply.error.code, reply.error.message));
      });
    });
  }

  close(reason = 'closed by the gateway'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.socket.destroy();
    const pending = [...this.pending];
    this.pending.clear();
    for (const [id, { listener }] of pending) listener(lostReply(id, reason));
    for (const handler of this.closeHandlers) handler(reason);
  }

  private onData(chunk: Buffer): void {
    try {
      for (const frame of this.decoder.feed(chunk, () => 'json')) this.dispatch(frame as { id?: unknown; type?: unknown; error?: unknown });
    } catch (e) {
      this.close(e instanceof FrameError ? `bad frame from the worker: ${e.message}` : String(e));
    }
  }

  private dispatch(frame: { id?: unknown; type?: unknown; error?: unknown }): void {
    if (frame.type === 'error' && (frame.error as { code?: unknown } | null)?.code === 'unauthorized') {
      this.close(this.options.token ? REFUSED : REFUSED_NONE); // the worker closes the connection after it too
      return;
    }
    if (frame.id === null) {
      // A reply with no id is the worker saying our framing broke: nothing can be trusted after it.
      this.close(`the worker refused a frame: ${JSON.stringify(frame.error)}`);
      return;
    }
    const pending = typeof frame.id === 'string' ? this.pending.get(frame.id) : undefined;
    if (!pending) return;
    const id = frame.id as string;
    let reply: Reply;
    try {
      reply = checkReply(pending.command, frame);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      // A worker of another protocol version, or a bug: this request cannot go on, the others can.
      reply = { id, type: 'error', error: { code: 'internal', message: `the worker's reply broke the protocol: ${e.message}` } };
      if (pending.command === 'transcribe' || pending.command === 'stream') this.send({ command: 'cancel', target: id }, () => {});
    }
    if (reply.type === 'result' || reply.type === 'error') this.pending.delete(id);
    pending.listener(reply);
  }

  private async write(data: Buffer): Promise<void> {
    if (this.state !== 'open') throw new Error(this.closeReason);
    if (!this.socket.write(data)) await this.drained();
  }

  /** The audio frame, streamed from disk: memory stays flat whatever the file's size. */
  private async streamFile(file: FileHandle, bytes: number): Promise<void> {
    await this.write(frameHeader(bytes));
    let sent = 0;
    for await (const chunk of file.createReadStream({ highWaterMark: 256 << 10, autoClose: false })) {
      sent += (chunk as Buffer).length;
      await this.write(chunk as Buffer);
    }
    if (sent !== bytes) throw new Error(`the audio file changed size while it was sent (${sent} of ${bytes} bytes)`);
  }

  private async drained(): Promise<void> {
    const timeout = AbortSignal.timeout(this.options.drainTimeoutMs);
    try {
      await once(this.socket, 'drain', { signal: timeout });
    } catch {
      throw new Error(`the worker did not read for ${this.options.drainTimeoutMs} ms`);
    }
  }
}

function lostReply(id: string, reason: string): Reply {
  return { id, type: 'error', error: { code: 'worker_lost', message: reason } };
}

async function closeAll(files: Array<FileHandle | Buffer>): Promise<void> {
  for (const file of files) if (!Buffer.isBuffer(file)) await file.close();
}
