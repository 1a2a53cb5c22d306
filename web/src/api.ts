// The public API's shapes and the small requests; jobs are in jobs.ts.
import { apiFetch } from './key.ts';

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
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The API's own error, or a network one that names the URL and status. */
export async function failure(response: Response): Promise<ApiError> {
  const body = await response.json().catch(() => null);
  const error = body?.error;
  return error?.code ? new ApiError(error.code, error.message) : new ApiError('network', `${response.url}: HTTP ${response.status}`);
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await apiFetch(url).catch((e) => Promise.reject(new ApiError('network', String(e))));
  if (!response.ok) throw await failure(response);
  return response.json();
}

export const listModels = () => getJson<{ default: string; models: ModelInfo[] }>('/api/models');

export async function listLanguages(): Promise<Language[]> {
  return (await getJson<{ languages: Language[] }>('/api/languages')).languages;
}
