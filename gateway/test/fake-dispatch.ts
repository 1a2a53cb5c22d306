// A job system with no workers behind it, for route tests through app.inject():
// each job plays a script of events, so every status code and error path of the
// HTTP layer is tested in milliseconds, without Python.
import { DispatchedJob } from '../src/dispatch/dispatched-job.ts';
import { WorkerRequestError } from '../src/workers/connection.ts';
import type { JobEvent, JobSpec, Dispatch } from '../src/dispatch/types.ts';
import type { TranscriptionResult } from '../src/protocol/messages.ts';
import type { ModelView, WorkerView } from '../src/workers/types.ts';

export type Script = (spec: JobSpec) => JobEvent[];

export function resultFor(spec: JobSpec, text = 'And Mr. John Dashwood.'): TranscriptionResult {
  const segments = text
    ? [{ id: 0, seek: 0, start: 0, end: 2.5, text: ` ${text}`, tokens: [1, 2], temperature: 0, avg_logprob: -0.2, compression_ratio: 1.2, no_speech_prob: 0.01 }]
    : [];
  return {
    text, language: spec.options.language ?? 'en', language_probability: 0.99, duration: 2.5, task: spec.options.task ?? 'transcribe',
    model: spec.model, segments, timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0.1 },
  };
}

export const succeeds: Script = (spec) => {
  const result = resultFor(spec);
  return [
    { type: 'started', worker: 'fake:1', attempt: 1 },
    { type: 'info', language: result.language, language_probability: 0.99, duration: 2.5, model: spec.model },
    ...result.segments.map((segment) => ({ type: 'segment' as const, segment })),
    { type: 'progress', processed: 2.5, duration: 2.5 },
    { type: 'done', result },
  ];
};

/** Started on a worker, then failed: a retryable code is tried again (jobs/retry.ts) until its attempts are spent. */
export const fails = (code: string, message: string): Script => () => [{ type: 'started', worker: 'fake:1', attempt: 1 }, { type: 'failed', error: { code, message } }];

/** Starts and never ends (until cancelled). */
export const hangs: Script = () => [{ type: 'started', worker: 'fake:1', attempt: 1 }];

export interface FakeDispatch extends Dispatch {
  submitted: JobSpec[];
  script: Script;
  workerViews: WorkerView[];
}

const MODELS = ['tiny', 'tiny.en', 'base', 'small', 'large-v3'];
// What list_models says of each: read from the files of those on disk, unknown (null) for the others.
const abilities = (name: string) =>
  name === 'tiny.en' ? { multilingual: false, languages: ['en'] } : name === 'base' ? { multilingual: true, languages: ['en', 'de'] } : { multilingual: null, languages: null };

export function fakeDispatch(script: Script = succeeds): FakeDispatch {
  const fake: FakeDispatch = {
    submitted: [],
    script,
    workerViews: [{ address: 'fake:1', up: true, error: null, device: 'cpu', slots: 1, running: 0, queued: 0, loadedModels: ['base'], availableModels: ['tiny.en', 'base'] }],
    dispatcher: {
      submit(spec) {
        fake.submitted.push(spec);
        const job = new DispatchedJob(spec);
        job.onCancel = () => job.fail({ code: 'cancelled', message: 'the job was cancelled' });
        // A started event counts the attempt as the scheduler does: the job service's retry decision reads it.
        const attempt = (spec.previousAttempts ?? 0) + 1;
        queueMicrotask(() => fake.script(spec).forEach((event) => job.emit(event.type === 'started' ? { ...event, attempt } : event)));
        return job;
      },
      counts: () => ({ waiting: 0, running: 0 }),
      close: async () => {},
    },
    directory: {
      workers: () => fake.workerViews,
      modelNames: () => MODELS,
      models: (): ModelView[] => MODELS.map((name) => ({ name, available: name === 'base' || name === 'tiny.en', loaded: name === 'base', workers: name === 'base' ? ['fake:1'] : [], ...abilities(name) })),
      ready: async () => {},
      onChange: () => {},
    },
    streams: {
      streamLink: async () => {
        throw new WorkerRequestError('no_worker', 'the fake job system has no worker for live streams');
      },
    },
    close: async () => {},
  };
  return fake;
}
