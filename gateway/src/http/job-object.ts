// A job as the API shows it (GET /api/jobs/{id}, the list, webhooks).
import type { JobRecord } from '../jobs/store.ts';
import type { JobService } from '../jobs/service.ts';
import { apiJson } from '../formats/responses.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function jobObject(job: JobRecord, position: number | null, keepsAudio = false) {
  const total = job.finished_at !== null ? (job.finished_at - job.created_at) / 1000 : 0;
  return {
    id: job.id,
    status: job.status,
    created_at: iso(job.created_at)!,
    started_at: iso(job.started_at),
    finished_at: iso(job.finished_at),
    model: job.request.model,
    task: job.request.options.task ?? 'transcribe',
    language: job.language ?? job.request.options.language ?? null,
    filename: job.request.filename,
    duration: job.duration,
    progress: job.duration !== null ? { processed: job.processed ?? 0, duration: job.duration } : null,
    position,
    attempts: job.attempts,
    error: job.error,
    result: job.result ? apiJson(job.result, total) : null,
    callback_url: job.request.callback_url,
    webhook: job.webhook,
    // A live session stores no audio; a failed or cancelled job's goes at its end (KEEP_AUDIO keeps a succeeded one's).
    audio: keepsAudio && job.status === 'succeeded' && job.request.source !== 'realtime',
  };
}

/** The API object of a job, with its place in line while it waits. */
export async function viewJob(service: JobService, job: JobRecord) {
  return jobObject(job, job.status === 'queued' ? await service.position(job.id) : null, service.keepsAudio);
}
