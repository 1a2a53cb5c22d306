// What the store contract's parts share (store.contract.ts runs them all): a
// request and a result to store, and a test that opens a fresh store for its body.
import { test } from 'node:test';
import type { JobRequest, JobStore } from './store.ts';
import type { TranscriptionResult } from '../protocol/messages.ts';

export const request = (n = 0): JobRequest => ({
  model: 'base', options: { language: null, task: 'transcribe' }, filename: `talk-${n}.wav`, audio_bytes: 100 + n, callback_url: null, source: 'jobs',
});
export const result: TranscriptionResult = {
  text: 'Hello.', language: 'en', language_probability: 0.9, duration: 1, task: 'transcribe', model: 'base',
  segments: [{ id: 0, seek: 0, start: 0, end: 1, text: ' Hello.', tokens: [1], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 }],
  timing: { queued_seconds: 0, load_seconds: 0, decode_seconds: 0.1 },
};
export const cancelled = { status: 'cancelled', error: { code: 'cancelled', message: 'by request' } } as const;

/** Makes empty storage and returns how to open it; each open() opens that same storage (what survives a restart). */
export type Storage = () => () => JobStore | Promise<JobStore>;

/** A test named for the store that runs `body` on a fresh one and closes it. */
export function storeTest(name: string, storage: Storage) {
  return (title: string, body: (store: JobStore) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const store = await storage()();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
}

/** The ids of jobs as a store answers them. */
export const ids = async (jobs: Promise<Array<{ id: string }>>) => (await jobs).map((j) => j.id);
