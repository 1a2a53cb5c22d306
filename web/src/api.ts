// The public API, as any program would use it. XMLHttpRequest gives both the
// upload's progress and the Server-Sent Events as they arrive.
export interface Word { word: string; start: number; end: number; probability: number }
export interface Segment { id: number; start: number; end: number; text: string; words?: Word[] }
export interface Transcript {
  text: string;
  language: string;
  language_probability: number;
  duration: number;
  model: string;
  task: string;
  segments: Segment[];
  timing: { total_seconds: number; decode_seconds: number };
}
export interface ModelInfo { name: string; available: boolean; loaded: boolean }
export interface Language { code: string; name: string }
export type SubtitleFormat = 'srt' | 'vtt' | 'tsv' | 'text';
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface Handlers {
  upload(fraction: number): void;
  queued(position: number): void;
  info(language: string, probability: number, duration: number): void;
  progress(processed: number, duration: number): void;
  segment(segment: Segment): void;
}

export async function listModels(): Promise<{ default: string; models: ModelInfo[] }> {
  const response = await fetch('/api/models');
  if (!response.ok) throw await failure(response);
  return response.json();
}

export async function listLanguages(): Promise<Language[]> {
  const response = await fetch('/api/languages');
  if (!response.ok) throw await failure(response);
  return (await response.json()).languages;
}

/** The server renders subtitles, so a download wraps lines exactly like response_format=srt. */
export async function subtitles(format: SubtitleFormat, segments: Segment[]): Promise<Blob> {
  // Only the fields the endpoint takes: a transcript from history may carry more.
  const body = {
    format,
    segments: segments.map(({ start, end, text, words }) => ({
      start, end, text,
      ...(words && { words: words.map(({ word, start, end, probability }) => ({ word, start, end, probability })) }),
    })),
  };
  const response = await fetch('/api/subtitles', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

async function failure(response: Response): Promise<ApiError> {
  const body = await response.json().catch(() => null);
  const error = body?.error;
  return error?.code ? new ApiError(error.code, error.message) : new ApiError('network', `${response.url}: HTTP ${response.status}`);
}

export function transcribe(form: FormData, on: Handlers): { done: Promise<Transcript>; cancel(): void } {
  const xhr = new XMLHttpRequest();
  form.set('stream', 'true');
  const done = new Promise<Transcript>((resolve, reject) => {
    let read = 0;
    let result: Transcript | null = null;
    const consume = () => {
      const text = xhr.responseText;
      let end: number;
      while ((end = text.indexOf('\n\n', read)) >= 0) {
        const block = text.slice(read, end);
        read = end + 2;
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue;
        const body = JSON.parse(data);
        if (event === 'queued') on.queued(body.position);
        else if (event === 'info') on.info(body.language, body.language_probability, body.duration);
        else if (event === 'progress') on.progress(body.processed, body.duration);
        else if (event === 'segment') on.segment(body);
        else if (event === 'result') result = body;
        else if (event === 'error') reject(new ApiError(body.error.code, body.error.message));
      }
    };
    xhr.upload.onprogress = (e) => e.lengthComputable && on.upload(e.loaded / e.total);
    xhr.upload.onload = () => on.upload(1);
    xhr.onprogress = () => xhr.status === 200 && consume();
    xhr.onload = () => {
      if (xhr.status !== 200) {
        try {
          const body = JSON.parse(xhr.responseText);
          reject(new ApiError(body.error.code, body.error.message));
        } catch {
          reject(new ApiError('network', `HTTP ${xhr.status}`));
        }
        return;
      }
      consume();
      if (result) resolve(result);
      else reject(new ApiError('network', 'the stream ended without a result'));
    };
    xhr.onerror = () => reject(new ApiError('network', 'network error'));
    xhr.onabort = () => reject(new ApiError('cancelled', 'cancelled'));
  });
  xhr.open('POST', '/api/transcribe');
  xhr.send(form);
  return { done, cancel: () => xhr.abort() };
}
