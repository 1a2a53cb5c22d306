// The public API's shapes, as the gateway declares them (./generated/api.ts,
// made from its OpenAPI document: never written here by hand), and the small
// requests; jobs are in jobs.ts.
import type { paths } from './generated/api.ts';
import { apiFetch } from './key.ts';

/** The JSON body a route answers with `status` (200 unless named). */
export type Json<Route, Status extends number = 200> = Route extends { responses: { [S in Status]: { content: { 'application/json': infer Body } } } } ? Body : never;

export type ModelList = Json<paths['/api/models']['get']>;
export type ModelInfo = ModelList['models'][number];
export type Language = Json<paths['/api/languages']['get']>['languages'][number];
/** A result in the `json` format (the other JSON shape a result can take is OpenAI's verbose_json). */
export type Transcript = Extract<Json<paths['/api/jobs/{id}/result']['get']>, { timing: unknown }>;
export type Segment = Transcript['segments'][number];
export type Word = NonNullable<Segment['words']>[number];
/** Every error the API answers has this shape. */
export type ErrorBody = Json<paths['/api/jobs/{id}']['get'], 404>;

export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The API's own error, or a network one that names the URL and status. */
export async function failure(response: Response): Promise<ApiError> {
  const body: Partial<ErrorBody> | null = await response.json().catch(() => null);
  const error = body?.error;
  return error?.code ? new ApiError(error.code, error.message) : new ApiError('network', `${response.url}: HTTP ${response.status}`);
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await apiFetch(url).catch((e) => Promise.reject(new ApiError('network', String(e))));
  if (!response.ok) throw await failure(response);
  return response.json();
}

export const listModels = () => getJson<ModelList>('/api/models');

export async function listLanguages(): Promise<Language[]> {
  return (await getJson<Json<paths['/api/languages']['get']>>('/api/languages')).languages;
}
