// The durable store's cost: the same 5-minute file through the worker protocol
// directly (no store), `POST /api/transcribe` (synchronous, stored) and
// `POST /api/jobs` followed over SSE to its result; and how long a submit takes
// to answer 202 (the upload stored and the record written).
//
//   node bench/gateway/jobs.ts [--model base] [--rounds 2]
//
// Results go to the Jobs section of docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkerConnection } from '../../gateway/src/workers/connection.ts';
import { startWorker, LIBRIVOX, SHORT_CLIP } from '../../test-support/worker.ts';
import { startGatewayProcess } from '../../test-support/gateway-process.ts';
import { machine, writeSection } from './report.ts';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'base' }, rounds: { type: 'string', default: '2' } } });
const MODEL = values.model!;
const ROUNDS = Number(values.rounds);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function fiveMinutes(): string {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'bench-jobs-')), 'five-minutes.wav');
  const clips = readdirSync(LIBRIVOX).filter((f) => f.endsWith('.wav')).sort().map((f) => path.join(LIBRIVOX, f));
  execFileSync('sox', [...Array(13).fill(clips).flat(), out, 'trim', '0', '300']);
  return out;
}

async function direct(port: number, file: string): Promise<number> {
  const connection = await WorkerConnection.open({ host: '127.0.0.1', port, connectTimeoutMs: 3000, drainTimeoutMs: 60_000, maxReplyFrame: 64 << 20 });
  const started = performance.now();
  await new Promise<void>((resolve, reject) =>
    connection.send({ command: 'transcribe', model: MODEL, options: { language: 'en' } }, (reply) => {
      if (reply.type === 'result') resolve();
      else if (reply.type === 'error') reject(new Error(JSON.stringify(reply.error)));
    }, { path: file, bytes: statSync(file).size }),
  );
  connection.close();
  return performance.now() - started;
}

function body(file: Blob): FormData {
  const form = new FormData();
  form.append('model', MODEL);
  form.append('language', 'en');
  form.append('file', file, 'audio.wav');
  return form;
}

async function sync(url: string, file: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${url}/api/transcribe`, { method: 'POST', body: body(await openAsBlob(file)) });
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  await response.json();
  return performance.now() - started;
}

/** Submit, then follow the events to the result: what a client of the jobs API waits. */
async function viaJobs(url: string, file: string): Promise<{ total: number; submit: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/api/jobs`, { method: 'POST', body: body(await openAsBlob(file)) });
  const submit = performance.now() - started;
  if (response.status !== 202) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  const { id } = (await response.json()) as { id: string };
  const events = await (await fetch(`${url}/api/jobs/${id}/events`)).text();
  if (!events.includes('event: result')) throw new Error(`job ${id} did not succeed: ${events.slice(-500)}`);
  return { total: performance.now() - started, submit };
}

const long = fiveMinutes();
const worker = await startWorker({ WHISPER_SLOTS: '1', WHISPER_PRELOAD: MODEL });
const gateway = await startGatewayProcess({ WHISPER_WORKERS: worker.address, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bench-data-')) });
try {
  await sync(gateway.url, SHORT_CLIP); // warm-up
  const rows: Array<[string, number[]]> = [['worker protocol, direct (no store)', []], ['`POST /api/transcribe` (stored)', []], ['`POST /api/jobs` + SSE to the result', []]];
  for (let i = 0; i < ROUNDS; i++) {
    // Interleaved, so that the machine's drift touches every path alike.
    rows[0]![1].push(await direct(worker.port, long));
    rows[1]![1].push(await sync(gateway.url, long));
    rows[2]![1].push((await viaJobs(gateway.url, long)).total);
  }
  const submits: Record<string, number[]> = { '3 s clip (96 KB)': [], '5-minute file (9.6 MB)': [] };
  for (const [label, file] of [['3 s clip (96 KB)', SHORT_CLIP], ['5-minute file (9.6 MB)', long]] as const) {
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      const response = await fetch(`${gateway.url}/api/jobs`, { method: 'POST', body: body(await openAsBlob(file)) });
      submits[label]!.push(performance.now() - started);
      const { id } = (await response.json()) as { id: string };
      await fetch(`${gateway.url}/api/jobs/${id}`, { method: 'DELETE' }); // cancelled at once: the next submit finds an idle gateway
    }
  }
  const base = mean(rows[0]![1]);
  const lines = [
    '## Jobs: the cost of the durable store',
    '',
    `Machine: ${machine()}. Model \`${MODEL}\` (int8, beam 5, VAD, language en) on a 5-minute LibriVox file, worker with 1 slot and the model preloaded, gateway as its own process on SQLite (node:sqlite, WAL) in a temporary DATA_DIR; ${ROUNDS} rounds, the three paths interleaved. Command: \`node bench/gateway/jobs.ts --model ${MODEL} --rounds ${ROUNDS}\`.`,
    '',
    '| path | mean s | vs direct |',
    '|---|---|---|',
    ...rows.map(([label, times]) => `| ${label} | ${(mean(times) / 1000).toFixed(2)} | ${((mean(times) / base - 1) * 100).toFixed(1)} % |`),
    '',
    'Submit latency: from the start of `POST /api/jobs` to its `202` (the upload streamed to DATA_DIR, the record written), 10 submits each.',
    '',
    '| upload | mean ms | p50 ms |',
    '|---|---|---|',
    ...Object.entries(submits).map(([label, times]) => `| ${label} | ${mean(times).toFixed(1)} | ${median(times).toFixed(1)} |`),
  ];
  writeSection('jobs', lines);
} finally {
  await gateway.kill();
  await worker.stop();
}

