// The gateway's realtime transcription socket (GET /v1/realtime?intent=transcription),
// in OpenAI's Realtime event shapes: a session with the page's model and
// language, 24 kHz PCM16 appended as it is recorded, text back as it is confirmed.
import { ApiError } from './api.ts';
import { apiFetch, keyNeeded, storedKey } from './key.ts';

export const RATE = 24_000;
const SETUP_MS = 10_000;

export interface SessionOptions { model: string | null; language: string | null; prompt: string | null }

export interface Listener {
  speechStarted(item: string): void;
  committed(item: string): void;
  /** `text`: confirmed, to append; `pending`: the tentative rest, replaced by the next delta. */
  delta(item: string, text: string, pending: string): void;
  /** The utterance's final text, which replaces its deltas. */
  completed(item: string, transcript: string): void;
  error(error: ApiError): void;
  /** The server closed the socket, or the connection dropped (not after close()). */
  closed(): void;
}

export interface Session {
  /** Also the id of the job that keeps the transcript, once the socket has closed after a final. */
  readonly id: string;
  append(pcm: ArrayBuffer): void;
  /** Ends the current utterance. */
  commit(): void;
  /** Resolves once the server has seen the socket close. */
  close(): Promise<void>;
}

type Event = Record<string, any> & { type: string };
type Attempt = Session | 'refused' | 'key refused';

/**
 * Opens a session and waits until the server has taken its settings. A key the
 * server refuses is asked for again, as for any call; any other refusal is an error.
 */
export async function openSession(options: SessionOptions, on: Listener): Promise<Session> {
  for (;;) {
    const key = storedKey();
    const outcome = await attempt(key, options, on);
    if (typeof outcome !== 'string') return outcome;
    if (outcome === 'key refused') {
      await keyNeeded(key);
      continue;
    }
    // A browser never says why a handshake failed; an ordinary call tells whether it was the key (and asks for a new one).
    await apiFetch('/api/models').catch(() => {});
    if (storedKey() === key) throw new ApiError('live_refused', 'the server refused the realtime WebSocket');
  }
}

function attempt(key: string | null, options: SessionOptions, on: Listener): Promise<Attempt> {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // A browser's WebSocket cannot send headers: the key travels as a subprotocol, as OpenAI's browser clients send it.
  const socket = new WebSocket(`${scheme}//${location.host}/v1/realtime?intent=transcription`, key ? ['realtime', `openai-insecure-api-key.${key}`] : []);
  return new Promise((resolve, reject) => {
    let id: string | null = null;
    const timer = setTimeout(() => fail(new ApiError('live_refused', `no session within ${SETUP_MS / 1000} s`)), SETUP_MS);
    const fail = (error: ApiError | 'refused' | 'key refused') => {
      clearTimeout(timer);
      socket.onmessage = socket.onclose = null;
      socket.close();
      if (error instanceof ApiError) reject(error);
      else resolve(error);
    };
    socket.onclose = () => fail(id === null ? 'refused' : new ApiError('live_closed', 'the server closed the session before it began'));
    socket.onmessage = ({ data }: MessageEvent<string>) => {
      const event = parse(data);
      if (event?.type === 'session.created') {
        id = String(event.session?.id);
        socket.send(JSON.stringify(update(options)));
      } else if (event?.type === 'session.updated' && id !== null) {
        clearTimeout(timer);
        resolve(session(socket, id, on));
      } else if (event?.type === 'error') {
        const error = asError(event);
        fail(error.code === 'invalid_api_key' ? 'key refused' : error);
      }
    };
  });
}

function update({ model, language, prompt }: SessionOptions): Event {
  const transcription = { ...(model && { model }), ...(language && { language }), ...(prompt && { prompt }) };
  return { type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: RATE }, transcription } } } };
}

function session(socket: WebSocket, id: string, on: Listener): Session {
  let closing: Promise<void> | null = null;
  socket.onmessage = ({ data }: MessageEvent<string>) => {
    const event = parse(data);
    if (event) dispatch(event, on);
  };
  socket.onclose = () => closing === null && on.closed();
  const send = (event: Event) => socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(event));
  return {
    id,
    append: (pcm) => send({ type: 'input_audio_buffer.append', audio: base64(pcm) }),
    commit: () => send({ type: 'input_audio_buffer.commit' }),
    close() {
      closing ??= new Promise((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.addEventListener('close', () => resolve());
        socket.close(1000);
      });
      return closing;
    },
  };
}

function dispatch(event: Event, on: Listener): void {
  switch (event.type) {
    case 'input_audio_buffer.speech_started':
      return on.speechStarted(String(event.item_id));
    case 'input_audio_buffer.committed':
      return on.committed(String(event.item_id));
    case 'conversation.item.input_audio_transcription.delta':
      return on.delta(String(event.item_id), event.delta ?? '', event.pending ?? '');
    case 'conversation.item.input_audio_transcription.completed':
      return on.completed(String(event.item_id), event.transcript ?? '');
    case 'error':
      return on.error(asError(event));
  }
}

function parse(data: string): Event | null {
  try {
    const event = JSON.parse(data);
    return typeof event?.type === 'string' ? event : null;
  } catch {
    return null;
  }
}

const asError = (event: Event) => new ApiError(String(event.error?.code ?? event.error?.type ?? 'live_error'), String(event.error?.message ?? ''));

function base64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let binary = '';
  // In slices: String.fromCharCode takes its bytes as arguments, and arguments are limited.
  for (let i = 0; i < view.length; i += 0x8000) binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}
