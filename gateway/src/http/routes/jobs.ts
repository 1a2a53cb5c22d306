// The durable jobs API: submit and come back later, follow live (with resume),
// fetch the result in any format, cancel or delete.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import type { Config } from '../../config.ts';
import type { Dispatch } from '../../dispatch/types.ts';
import type { JobService } from '../../jobs/service.ts';
import { FINISHED, KEPT_EDITS, type JobRecord, type JobStatus } from '../../jobs/store.ts';
import { ApiError, errorBody } from '../../errors.ts';
import { JobEvents, JobForm, JobList, JobListQuery, JobObject, JobParams, JobResult, ResultQuery, sendAsIs } from '../schemas.ts';
import { JOB_AUDIO_ERRORS, JOB_ERRORS, JOB_STATE_ERROR, JobAudio, JobAudioPart, NO_CONTENT, UPLOAD_ERRORS, responses } from '../route-responses.ts';
import { parseFields } from '../form-fields.ts';
import { mediaType, sendFile } from '../media.ts';
import { receiveUpload } from '../uploads.ts';
import { apiJson, render, type ResponseFormat } from '../../formats/responses.ts';
import { viewJob } from '../job-object.ts';
import { apiEvent, openStream, SpeakerNames } from '../sse.ts';
import { apiRequest, skipBodyValidation } from './api.ts';
import { RENAME_SPEAKERS_ERRORS, RenameSpeakersBody, parseSpeakerRenames } from '../speaker-renames.ts';
import {
  REVISIONS_ERRORS, RestoreRevisionBody, TRANSCRIPT_ERRORS, TranscriptEditBody, TranscriptRevisions, TranscriptSaved, parseRestore, parseTranscriptEdit, type TranscriptEdit,
} from '../transcript-revisions.ts';
import type { TranscriptRevision } from '../../jobs/store.ts';
import { reviseResult, withNamesOf } from '../../jobs/transcript-edit.ts';

type WithId = FastifyRequest<{ Params: { id: string } }>;

export function jobRoutes(app: FastifyInstance, config: Config, dispatch: Dispatch, service: JobService): void {
  const keysOn = config.apiKeys.length > 0;
  const found = async (request: WithId): Promise<JobRecord> => {
    service.checkStorage();
    const job = await service.get(request.params.id);
    // Another key's job is as absent as one that never existed.
    if (!job || (keysOn && job.request.owner !== request.owner)) throw new ApiError('not_found', `No job '${request.params.id}': it never existed, or it was deleted or purged (finished jobs are kept JOB_RETENTION_HOURS=${config.jobRetentionHours}).`, 'id');
    return job;
  };
  const tags = ['jobs'];
  const submitted = Type.Object(JobObject.properties, { description: 'The job, once its upload is stored', headers: { location: Type.String({ description: 'The job: /api/jobs/{id}' }) } });

  app.post('/api/jobs', {
    validatorCompiler: skipBodyValidation,
    schema: { tags, summary: 'Submit a transcription job; answers 202 once the upload is stored', consumes: ['multipart/form-data'], body: JobForm, response: responses({ 202: submitted }, UPLOAD_ERRORS) },
  }, async (request, reply) => {
    await service.admit(request.owner, config.maxJobsPerKey);
    const upload = await receiveUpload(request, config, service.uploadsDir);
    try {
      const { callback_url, ...fields } = parseFields(JobForm, upload.fields);
      const what = apiRequest(fields, config, dispatch.directory.models(), upload.references.length);
      const callback = callback_url ? service.checkCallbackUrl(callback_url) : null;
      const job = await service.submit(upload.path, {
        model: what.model, options: what.options, filename: upload.filename, audio_bytes: upload.bytes, callback_url: callback, source: 'jobs', owner: request.owner,
        response_format: what.format, max_line_width: what.cue.maxLineWidth, max_line_count: what.cue.maxLineCount,
      }, request.id, upload.references);
      request.log.info({ job: job.id, model: what.model, bytes: upload.bytes }, 'job submitted');
      return reply.status(202).header('location', `/api/jobs/${job.id}`).send(await viewJob(service, job));
    } finally {
      await upload.remove();
    }
  });

  app.get<{ Querystring: Static<typeof JobListQuery> }>('/api/jobs', {
    schema: {
      tags, summary: 'Jobs, newest first; with q, the jobs whose transcript or file name holds its words, best match first', querystring: JobListQuery,
      response: responses({ 200: JobList, 503: JOB_ERRORS[503] }),
    },
  }, async (request) => {
    const { q, status, model, cursor } = request.query;
    const since = listTime(request.query.since, 'since');
    const until = listTime(request.query.until, 'until');
    service.checkStorage();
    const query = { status, model, since, until, limit: request.query.limit ?? 20, cursor, ...(keysOn && { owner: request.owner }) };
    if (q === undefined) {
      const page = await service.list(query);
      return { jobs: await Promise.all(page.jobs.map((j) => viewJob(service, j))), next_cursor: page.next_cursor };
    }
    const page = await service.search({ ...query, q });
    return { jobs: await Promise.all(page.jobs.map(async (hit) => ({ ...(await viewJob(service, hit.job)), matches: hit.matches }))), next_cursor: page.next_cursor };
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id', {
    schema: { tags, summary: 'One job: status, progress, and its result once succeeded', params: JobParams, response: responses({ 200: JobObject }, JOB_ERRORS) },
  }, async (request) => viewJob(service, await found(request)));

  app.get<{ Params: { id: string }; Querystring: { format?: ResponseFormat } }>('/api/jobs/:id/result', {
    serializerCompiler: sendAsIs,
    schema: { tags, summary: 'The result in any response format', params: JobParams, querystring: ResultQuery, response: responses({ 200: JobResult, 409: JOB_STATE_ERROR }, JOB_ERRORS) },
  }, async (request, reply) => {
    const job = await found(request);
    if (job.status === 'queued' || job.status === 'running') {
      throw new ApiError('job_not_finished', `Job ${job.id} is ${job.status}: its result exists once it has succeeded. Follow GET /api/jobs/${job.id}/events, or poll GET /api/jobs/${job.id}.`);
    }
    if (job.status !== 'succeeded') throw new ApiError('job_failed', `Job ${job.id} ${job.status === 'cancelled' ? 'was cancelled' : `failed (${job.error?.code}: ${job.error?.message})`}: it has no result.`);
    const format = request.query.format ?? job.request.response_format ?? 'json';
    const cue = { maxLineWidth: job.request.max_line_width ?? 42, maxLineCount: job.request.max_line_count ?? 2 };
    const out = render(format, job.result!, cue, (job.finished_at! - job.created_at) / 1000, job.request.options.word_timestamps ?? false);
    return reply.type(out.contentType).send(out.body);
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id/events', {
    config: { keyInQuery: true }, // a browser's EventSource sends no headers
    serializerCompiler: sendAsIs,
    schema: { tags, summary: 'Server-Sent Events of the job; resume with Last-Event-ID', params: JobParams, response: responses({ 200: JobEvents }, JOB_ERRORS) },
  }, async (request, reply) => followEvents(service, await found(request), request, reply));

  app.get<{ Params: { id: string } }>('/api/jobs/:id/audio', {
    config: { keyInQuery: true }, // a browser's <audio src> sends no headers
    serializerCompiler: sendAsIs,
    schema: {
      tags, summary: 'The job\'s audio as uploaded, for playback (with Range requests): a succeeded job\'s is kept as long as the job unless KEEP_AUDIO=false',
      params: JobParams, response: responses({ 200: JobAudio, 206: JobAudioPart, ...JOB_AUDIO_ERRORS }, JOB_ERRORS, JOB_AUDIO_ERRORS),
    },
  }, async (request, reply) => {
    const job = await found(request);
    const gone = () => {
      const why = job.status === 'succeeded' || job.status === 'queued' || job.status === 'running'
        ? (service.keepsAudio ? 'it was deleted' : 'this server deletes a job\'s audio when the job ends (KEEP_AUDIO=false)')
        : `the job ${job.status === 'cancelled' ? 'was cancelled' : 'failed'}, and its audio was deleted then`;
      return new ApiError('job_audio_gone', `The audio of job ${job.id} is not kept: ${why}. Its transcript and result are still here.`, 'id');
    };
    const file = job.status === 'failed' || job.status === 'cancelled' ? null : await service.audioOf(job.id);
    if (!file) throw gone();
    return sendFile(request, reply, file, await mediaType(file.path, job.request.filename), gone);
  });

  app.post<{ Params: { id: string } }>('/api/jobs/:id/cancel', {
    schema: { tags, summary: 'Cancel a queued or running job; never deletes (409 once it has finished)', params: JobParams, response: responses({ 202: JobObject, 409: JOB_STATE_ERROR }, JOB_ERRORS) },
  }, async (request, reply) => {
    const job = await found(request);
    if (FINISHED.has(job.status)) throw new ApiError('job_finished', `Job ${job.id} has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}: there is nothing to cancel.`);
    await service.cancel(job.id);
    return reply.status(202).send(await viewJob(service, await service.finished(job.id)));
  });

  app.delete<{ Params: { id: string } }>('/api/jobs/:id', {
    schema: { tags, summary: 'Cancel a queued or running job, or delete a finished one', params: JobParams, response: responses({ 202: JobObject, 204: NO_CONTENT }, JOB_ERRORS) },
  }, async (request, reply) => {
    const job = await found(request);
    if (!FINISHED.has(job.status)) {
      await service.cancel(job.id);
      return reply.status(202).send(await viewJob(service, await service.finished(job.id)));
    }
    await service.remove(job.id);
    return reply.status(204).send();
  });

  app.patch<{ Params: { id: string } }>('/api/jobs/:id', {
    validatorCompiler: skipBodyValidation, // parseSpeakerRenames checks the body, naming the field at fault
    schema: {
      tags, summary: 'Rename the speakers of a succeeded job: its result, and every format of it, names them so from now on', params: JobParams, body: RenameSpeakersBody,
      response: responses({ 200: JobObject }, JOB_ERRORS, RENAME_SPEAKERS_ERRORS),
    },
  }, async (request) => {
    const renames = parseSpeakerRenames(request.body);
    const job = await found(request);
    if (job.status === 'queued' || job.status === 'running') {
      throw new ApiError('job_not_finished', `Job ${job.id} is ${job.status}: its speakers can be renamed once it has succeeded. Follow GET /api/jobs/${job.id}/events, or poll GET /api/jobs/${job.id}.`);
    }
    if (job.status !== 'succeeded') {
      throw new ApiError('job_failed', `Job ${job.id} ${job.status === 'cancelled' ? 'was cancelled' : `failed (${job.error?.code}: ${job.error?.message})`}: it has no result, so no speakers to rename.`);
    }
    const renamed = await service.renameSpeakers(job.id, speakerIds(job, renames));
    request.log.info({ job: job.id, speakers: renames.size }, 'speakers renamed');
    return viewJob(service, renamed ?? (await found(request))); // null: deleted meanwhile (found says 404)
  });

  // ——— Correcting the transcript: revisions (the original stays; ../../jobs/transcript-edit.ts makes them).

  /** The job, 409 unless it has succeeded (what its transcript routes need). */
  const succeeded = async (request: WithId, what: string): Promise<JobRecord> => {
    const job = await found(request);
    if (job.status === 'queued' || job.status === 'running') {
      throw new ApiError('job_not_finished', `Job ${job.id} is ${job.status}: its transcript can be ${what} once it has succeeded. Follow GET /api/jobs/${job.id}/events, or poll GET /api/jobs/${job.id}.`);
    }
    if (job.status !== 'succeeded') {
      throw new ApiError('job_failed', `Job ${job.id} ${job.status === 'cancelled' ? 'was cancelled' : `failed (${job.error?.code}: ${job.error?.message})`}: it has no transcript.`);
    }
    return job;
  };
  const saved = async (request: WithId, job: JobRecord, outcome: Awaited<ReturnType<JobService['reviseTranscript']>>, base: number | undefined) => {
    if (outcome === null) return found(request).then(() => { throw new ApiError('job_failed', `Job ${job.id} has no transcript any more.`); }); // gone: 404
    if ('stale' in outcome) {
      throw new ApiError('revision_conflict', `The transcript of job ${job.id} is at revision ${outcome.stale} now, not ${base}: another edit was saved since. Nothing was stored; load revision ${outcome.stale} (GET /api/jobs/${job.id}) and edit that.`, 'base_revision');
    }
    request.log.info({ job: job.id, revision: outcome.revision.revision }, 'transcript revised');
    return { revision: revisionInfo(outcome.revision), job: await viewJob(service, outcome.job) };
  };

  app.put<{ Params: { id: string } }>('/api/jobs/:id/transcript', {
    validatorCompiler: skipBodyValidation, // parseTranscriptEdit checks the body, naming the field at fault
    schema: {
      tags, summary: 'Correct the transcript of a succeeded job: stored as its next revision (the original stays), which its result and every format show from now on',
      params: JobParams, body: TranscriptEditBody, response: responses({ 200: TranscriptSaved }, JOB_ERRORS, TRANSCRIPT_ERRORS),
    },
  }, async (request) => {
    const edit = parseTranscriptEdit(request.body);
    const job = await succeeded(request, 'edited');
    checkAgainstJob(job, edit);
    const outcome = await service.reviseTranscript(job.id, edit.base_revision, (revisions) => {
      const current = revisions[revisions.length - 1]!.result;
      return reviseResult(current, edit.segments);
    });
    return saved(request, job, outcome, edit.base_revision);
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id/transcript/revisions', {
    schema: {
      tags, summary: 'The revisions of a succeeded job\'s transcript: 0 the original, then one per edit or restore', params: JobParams,
      response: responses({ 200: TranscriptRevisions, ...REVISIONS_ERRORS }, JOB_ERRORS),
    },
  }, async (request) => {
    const job = await succeeded(request, 'revised');
    const revisions = await service.transcriptRevisions(job.id);
    if (!revisions) throw new ApiError('job_failed', `Job ${job.id} has no transcript any more.`);
    return { current: revisions[revisions.length - 1]!.revision, revisions: revisions.map(revisionInfo) };
  });

  app.post<{ Params: { id: string } }>('/api/jobs/:id/transcript/restore', {
    validatorCompiler: skipBodyValidation,
    schema: {
      tags, summary: 'Make an earlier revision of the transcript (0: the original) current again, as a new revision', params: JobParams, body: RestoreRevisionBody,
      response: responses({ 200: TranscriptSaved }, JOB_ERRORS, TRANSCRIPT_ERRORS),
    },
  }, async (request) => {
    const revision = parseRestore(request.body);
    const job = await succeeded(request, 'restored');
    const outcome = await service.reviseTranscript(job.id, undefined, (revisions) => {
      const chosen = revisions.find((r) => r.revision === revision);
      if (!chosen) {
        const kept = revisions.map((r) => r.revision).join(', ');
        throw new ApiError('invalid_parameter', `field 'revision': job ${job.id} has no revision ${revision}; it keeps ${kept} (the original, and its last ${KEPT_EDITS} edits)`, 'revision');
      }
      return withNamesOf(chosen.result, revisions[revisions.length - 1]!.result);
    });
    return saved(request, job, outcome, undefined);
  });
}

const revisionInfo = (r: TranscriptRevision) => ({ revision: r.revision, created_at: new Date(r.created_at).toISOString(), segments: r.result.segments.length });

/**
 * What of an edit depends on the job: every segment within the audio (its
 * duration, or the original's last end where Whisper ran a little past it),
 * its speakers the job's. 400 naming the field.
 */
function checkAgainstJob(job: JobRecord, edit: TranscriptEdit): void {
  const result = job.result!;
  const limit = Math.max(result.duration, job.duration ?? 0, ...result.segments.map((s) => s.end));
  const ids = result.speakers?.map((s) => s.id);
  edit.segments.forEach((segment, i) => {
    const at = `segments[${i}]`;
    if (segment.end > limit + 1e-6) throw new ApiError('invalid_parameter', `field '${at}.end' (${segment.end}) is past the end of the audio (${limit} s)`, `${at}.end`);
    if (segment.speaker !== undefined && segment.speaker !== null && !ids?.includes(segment.speaker)) {
      const known = ids ? `its speakers are ${ids.join(', ') || 'none'}` : 'it was transcribed without diarization, so it has no speakers';
      throw new ApiError('invalid_parameter', `field '${at}.speaker': job ${job.id} has no speaker '${segment.speaker}'; ${known}`, `${at}.speaker`);
    }
    segment.words?.forEach((word, j) => {
      if (word.start < segment.start - 0.5 || word.end > segment.end + 0.5) {
        throw new ApiError('invalid_parameter', `field '${at}.words[${j}]' (${word.start}–${word.end} s) is outside its segment (${segment.start}–${segment.end} s)`, `${at}.words[${j}]`);
      }
    });
  });
}

async function followEvents(service: JobService, job: JobRecord, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const header = request.headers['last-event-id'];
  const after = Number.parseInt(String(Array.isArray(header) ? header[0] : (header ?? '0')), 10);
  const closed = new AbortController();
  reply.raw.once('close', () => closed.abort());
  const send = openStream(reply);
  // total_seconds: submit to finish (the record's, or now for a result streamed live as it happens).
  const skip = Number.isFinite(after) && after > 0 ? after : 0;
  // Read from the first event even when resuming: the speakers' names are in `info`, near the start.
  const names = new SpeakerNames();
  try {
    for await (const { seq, event } of service.events(job.id, 0, closed.signal)) {
      names.see(event);
      if (seq <= skip) continue;
      const finishedAt = event.type === 'done' ? ((await service.get(job.id))?.finished_at ?? Date.now()) : Date.now();
      send(...apiEvent(event, (r) => apiJson(r, (finishedAt - job.created_at) / 1000), names), seq);
    }
  } catch (err) {
    // Headers are sent: the client hears of it as an event, and may resume with Last-Event-ID.
    request.log.error({ err, job: job.id }, 'the event stream of a job failed');
    send('error', errorBody(new ApiError('storage_unavailable', 'The job\'s events could not be read; reconnect with Last-Event-ID to resume.')));
  }
  reply.raw.end();
}

/**
 * A date-time of the list's query (RFC 3339, as its schema checks: a leap
 * second, or no offset, which is UTC) in ms since the epoch; 400 naming the
 * field when it is none.
 */
function listTime(value: string | undefined, param: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):?(\d{2}))?$/.exec(value);
  const ms = m && new Date(0).setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
    + ((Number(m[4]) * 60 + Number(m[5])) * 60 + Number(m[6]) + Number(m[7] ?? 0)) * 1000
    - (m[9] ? (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000 : 0);
  if (ms === null || !Number.isFinite(ms)) {
    throw new ApiError('invalid_parameter', `field '${param}' must be a date-time, as 2026-01-31T09:00:00Z (got ${JSON.stringify(value)})`, param);
  }
  return ms;
}

/**
 * A rename's keys as the ids of the job's speakers (id → new name): a key is a
 * speaker's id, else the current name of exactly one speaker; 400 naming the
 * key when it is neither, or names a speaker another key names too.
 */
function speakerIds(job: JobRecord, renames: Map<string, string>): Record<string, string> {
  const bad = (message: string, param: string) => new ApiError('invalid_parameter', message, param);
  const speakers = job.result?.speakers;
  if (!speakers) throw bad(`Job ${job.id} has no speakers to rename: it was transcribed without diarization (submit it with diarize=true to have them).`, 'speakers');
  if (speakers.length === 0) throw bad(`Job ${job.id} has no speakers to rename: diarization heard no one speak.`, 'speakers');
  const known = speakers.map((s) => (s.name === s.id ? s.id : `${s.id} (${s.name})`)).join(', ');
  const ids = new Map<string, string>(); // speaker id → new name
  const keyOf = new Map<string, string>(); // speaker id → the key that named it
  for (const [key, name] of renames) {
    const param = `speakers.${key}`;
    const named = speakers.filter((s) => s.name === key);
    const speaker = speakers.find((s) => s.id === key) ?? (named.length === 1 ? named[0] : undefined);
    if (!speaker && named.length > 1) {
      throw bad(`field '${param}': ${named.length} speakers of job ${job.id} are named '${key}' (${named.map((s) => s.id).join(', ')}); name the one to rename by its id`, param);
    }
    if (!speaker) throw bad(`field '${param}': job ${job.id} has no speaker '${key}'; its speakers are ${known} (a key is a speaker's id, or its current name)`, param);
    const earlier = keyOf.get(speaker.id);
    if (earlier !== undefined) throw bad(`field '${param}': speaker ${speaker.id} is renamed twice, as '${earlier}' and as '${key}'; name it once`, param);
    keyOf.set(speaker.id, key);
    ids.set(speaker.id, name);
  }
  return Object.fromEntries(ids);
}
