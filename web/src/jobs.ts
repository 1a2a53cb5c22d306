// The durable jobs API: look up, list, cancel, rename speakers, fetch a result, and follow a
// job's events (EventSource, which resumes with Last-Event-ID by itself when
// the connection drops). Submitting is in upload.ts.
import { ApiError, failure, getJson, type Json, type Segment, type Transcript } from './api.ts';
import type { SpeakerRef } from './speakers.ts';
import type { paths } from './generated/api.ts';
import { apiFetch, withKey } from './key.ts';

type JobObject = Json<paths['/api/jobs/{id}']['get']>;
/** A job as the API answers it; its `result`, which the document leaves open, is the `json` format's (as the document says). */
export type Job = Omit<JobObject, 'result'> & { result: Transcript | null };
export type JobStatus = Job['status'];
/** The formats a finished job's result comes in. */
export type ResultFormat = NonNullable<NonNullable<paths['/api/jobs/{id}/result']['get']['parameters']['query']>['format']>;

export const finished = (job: Job) => job.status !== 'queued' && job.status !== 'running';
const url = (id: string) => `/api/jobs/${encodeURIComponent(id)}`;

/** The job, or null when the server knows no such job (never was, or deleted). */
export async function getJob(id: string): Promise<Job | null> {
  try {
    return await getJson<Job>(url(id));
  } catch (e) {
    if (e instanceof ApiError && e.code === 'not_found') return null;
    throw e;
  }
}

type JobListAnswer = Json<paths['/api/jobs']['get']>;
/** A search hit's segment: where to seek, and its text. */
export type Match = NonNullable<JobListAnswer['jobs'][number]['matches']>[number];
/** A job as a list or a search answers it: with `q`, its matching segments. */
export type ListedJob = Job & { matches?: Match[] };
/** The list's filters and search (`q`), each optional; `cursor`: the previous page's `next_cursor`. */
export type JobQuery = NonNullable<paths['/api/jobs']['get']['parameters']['query']>;

export async function listJobs(limit: number): Promise<Job[]> {
  return (await getJson<{ jobs: Job[] }>(`/api/jobs?limit=${limit}`)).jobs;
}

/** A page of the list (newest first) or of a search (best first). */
export async function pageJobs(query: JobQuery): Promise<{ jobs: ListedJob[]; next_cursor: string | null }> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  return getJson(`/api/jobs?${params}`);
}

/** Deletes a finished job with its result (a queued or running one is cancelled instead); a job already gone counts as deleted. */
export async function deleteJob(id: string): Promise<void> {
  const response = await apiFetch(url(id), 'DELETE');
  if (!response.ok && response.status !== 404) throw await failure(response);
}

/** Cancels a queued or running job; a job that finished meanwhile is left as it is (409), never deleted. */
export async function cancelJob(id: string): Promise<Job> {
  const response = await apiFetch(`${url(id)}/cancel`, 'POST');
  if (response.status !== 202) throw await failure(response);
  return response.json();
}

type SpeakerRenames = NonNullable<paths['/api/jobs/{id}']['patch']['requestBody']>['content']['application/json']['speakers'];

/** Renames a succeeded job's speakers (by id or current name) on the server: the job, with its renamed result. */
export async function renameSpeakers(id: string, speakers: SpeakerRenames): Promise<Job> {
  const response = await apiFetch(url(id), 'PATCH', { body: JSON.stringify({ speakers }), headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** The result as the server renders it now: never a cached copy, which a rename would have made stale. */
export async function result(id: string, format: ResultFormat): Promise<Blob> {
  const response = await apiFetch(`${url(id)}/result?format=${format}`, 'GET', { cache: 'no-store' });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

export interface Handlers {
  queued(position: number): void;
  started(): void;
  /** `speakers`: listed before the first segment when the job was asked who speaks (diarization). */
  info(language: string, duration: number, speakers: SpeakerRef[] | null): void;
  progress(processed: number, duration: number): void;
  segment(segment: Segment): void;
  /** Once, when the job has finished (or is gone): read it again with getJob for its final state. */
  end(): void;
}

/** Follows a job's events until it finishes; returns a function that stops following. */
export function follow(id: string, on: Handlers): () => void {
  const source = new EventSource(withKey(`${url(id)}/events`));
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    source.close();
    on.end();
  };
  const listen = (name: string, handle: (data: any) => void) =>
    source.addEventListener(name, (e) => !ended && handle(JSON.parse((e as MessageEvent<string>).data)));
  listen('queued', (d) => on.queued(d.position));
  listen('started', () => on.started());
  listen('info', (d) => on.info(d.language, d.duration, Array.isArray(d.speakers) ? d.speakers : null));
  listen('progress', (d) => on.progress(d.processed, d.duration));
  listen('segment', (d) => on.segment(d));
  listen('result', end);
  source.addEventListener('error', (e) => {
    // The job's own `error` event carries data; a bare Event is the connection's.
    if (e instanceof MessageEvent) return end();
    if (source.readyState === EventSource.CLOSED) return end(); // an HTTP error: the job is gone
    // The stream ended or dropped and the browser will reconnect: stop if there is nothing more to wait for.
    getJob(id).then((job) => (!job || finished(job)) && end(), () => {});
  });
  return () => {
    ended = true;
    source.close();
  };
}
