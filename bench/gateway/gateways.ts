// One gateway on SQLite against two gateways sharing Redis, with the same two
// workers and the same jobs: throughput (does Redis cost anything?), submit
// latency, and how long a job waits after its gateway is killed before another
// gateway runs it again.
//
//   node bench/gateway/gateways.ts [--model tiny.en] [--jobs 16] [--rounds 2]
//
// Results go to the "Several gateways" section of docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openAsBlob } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startWorker, CLIP, type RunningWorker } from '../../test-support/worker.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test-support/gateway-process.ts';
import { startRedis, type RedisServer } from '../../test-support/redis.ts';
import { readEvents } from '../../test-support/jobs-client.ts';
import { waitFor } from '../../test-support/wait.ts';
import { form } from '../../test-support/gateway.ts';
import { machine, writeSection } from './report.ts';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'tiny.en' }, jobs: { type: 'string', default: '16' }, rounds: { type: 'string', default: '2' } } });
const MODEL = values.model!;
const JOBS = Number(values.jobs);
const ROUNDS = Number(values.rounds);
const CLIP_SECONDS = 7.3; // the LibriVox clip each job sends
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const tmp = (name: string) => mkdtempSync(path.join(os.tmpdir(), name));

interface Round {
  rtfx: number;
  submits: number[];
  errors: number;
}

/** JOBS jobs sent round-robin to the gateways, each followed over SSE to its end. */
async function round(urls: string[]): Promise<Round> {
  const started = performance.now();
  const submits: number[] = [];
  const followers: Array<Promise<boolean>> = [];
  for (let i = 0; i < JOBS; i++) {
    const url = urls[i % urls.length]!;
    const t = performance.now();
    const response = await fetch(`${url}/api/jobs`, { method: 'POST', body: form(await openAsBlob(CLIP), { model: MODEL, language: 'en' }) });
    submits.push(performance.now() - t);
    if (response.status !== 202) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    const { id } = (await response.json()) as { id: string };
    // Followed on another gateway than the one it was sent to, when there are two.
    const reader = urls[(i + 1) % urls.length]!;
    followers.push(fetch(`${reader}/api/jobs/${id}/events`).then(readEvents).then((events) => events.at(-1)?.event === 'result'));
  }
  const ok = await Promise.all(followers);
  const wall = (performance.now() - started) / 1000;
  return { rtfx: (JOBS * CLIP_SECONDS) / wall, submits, errors: ok.filter((x) => !x).length };
}

/** Seconds from a SIGKILL of the gateway running a job to another gateway starting its next attempt (read by polling the record). */
async function takeover(redis: RedisServer, workers: RunningWorker[], lockSeconds: number, long: string): Promise<number> {
  const env = { QUEUE_URL: redis.url, QUEUE_PREFIX: `takeover${lockSeconds}`, DATA_DIR: tmp('bench-shared-'), QUEUE_LOCK_SECONDS: String(lockSeconds), WHISPER_WORKERS: workers.map((w) => w.address).join(',') };
  const g1 = await startGatewayProcess(env);
  const response = await fetch(`${g1.url}/api/jobs`, { method: 'POST', body: form(await openAsBlob(long), { model: MODEL, language: 'en' }) });
  const { id } = (await response.json()) as { id: string };
  const record = async (url: string) => (await fetch(`${url}/api/jobs/${id}`)).json() as Promise<{ status: string; attempts: number; progress: { processed: number } | null }>;
  await waitFor('the job to make progress on the first gateway', async () => ((await record(g1.url)).progress?.processed ?? 0) > 0, 120_000, 100);
  const g2 = await startGatewayProcess(env);
  try {
    const killed = performance.now();
    await g1.kill('SIGKILL');
    await waitFor('another gateway to start the job again', async () => (await record(g2.url)).attempts >= 2, 180_000, 100);
    const seconds = (performance.now() - killed) / 1000;
    await fetch(`${g2.url}/api/jobs/${id}`, { method: 'DELETE' });
    return seconds;
  } finally {
    await g2.kill();
  }
}

const long = path.join(tmp('bench-long-'), 'long.wav');
execFileSync('sox', [...Array(20).fill(CLIP), long]);
const workers = await Promise.all([0, 1].map(() => startWorker({ WHISPER_SLOTS: '1', WHISPER_PRELOAD: MODEL })));
const redis = await startRedis({ appendonly: true });
const gateways: GatewayProcess[] = [];
try {
  const addresses = workers.map((w) => w.address).join(',');
  const single = await startGatewayProcess({ WHISPER_WORKERS: addresses, DATA_DIR: tmp('bench-sqlite-') });
  const shared = { QUEUE_URL: redis.url, QUEUE_PREFIX: 'bench', DATA_DIR: tmp('bench-shared-'), WHISPER_WORKERS: addresses };
  const pair = [await startGatewayProcess(shared), await startGatewayProcess(shared)];
  gateways.push(single, ...pair);
  await round([single.url]); // warm-up: models loaded, connections open
  await round(pair.map((g) => g.url));
  const results: Record<'sqlite' | 'redis', Round[]> = { sqlite: [], redis: [] };
  for (let i = 0; i < ROUNDS; i++) {
    // Alternated, so that the machine's drift touches both alike.
    results.sqlite.push(await round([single.url]));
    results.redis.push(await round(pair.map((g) => g.url)));
  }
  const takeovers = [await takeover(redis, workers, 5, long), await takeover(redis, workers, 30, long)];
  const row = (label: string, rounds: Round[]) => {
    const submits = rounds.flatMap((r) => r.submits);
    return `| ${label} | ${rounds.map((r) => r.rtfx.toFixed(1)).join(' / ')} | ${mean(rounds.map((r) => r.rtfx)).toFixed(1)} | ${mean(submits).toFixed(1)} | ${pct(submits, 0.5).toFixed(1)} | ${pct(submits, 0.95).toFixed(1)} | ${rounds.reduce((n, r) => n + r.errors, 0)} |`;
  };
  const ratio = mean(results.redis.map((r) => r.rtfx)) / mean(results.sqlite.map((r) => r.rtfx));
  writeSection('gateways', [
    '## Several gateways: SQLite against Redis',
    '',
    `Machine: ${machine()}. Two workers with 1 slot each and \`${MODEL}\` preloaded; ${JOBS} jobs of a 7.3 s LibriVox clip per round, submitted one after another (round-robin over the gateways) and each followed over SSE (on the other gateway, when there are two) to its result; ${ROUNDS} rounds per setup, alternated, after one warm-up round each. Redis 7 (Debian's \`redis-server\`, appendonly yes) on the same machine. Command: \`node bench/gateway/gateways.ts --model ${MODEL} --jobs ${JOBS} --rounds ${ROUNDS}\`.`,
    '',
    '| setup | aggregate RTFx per round | mean RTFx | submit mean ms | p50 ms | p95 ms | errors |',
    '|---|---|---|---|---|---|---|',
    row('1 gateway, SQLite', results.sqlite),
    row('2 gateways, Redis (BullMQ)', results.redis),
    '',
    `Redis over SQLite: ${(ratio * 100).toFixed(0)} % of the throughput.`,
    '',
    `Takeover: a gateway running a job (a 146 s file) is killed with SIGKILL once it has made progress; the time until another gateway announces the job's next attempt was ${takeovers[0]!.toFixed(1)} s with \`QUEUE_LOCK_SECONDS=5\` and ${takeovers[1]!.toFixed(1)} s with the default 30 (the lock must lapse, then BullMQ's stalled check, every lock/3, puts the job back, and a gateway with a free slot takes it at once).`,
  ]);
} finally {
  for (const g of gateways) await g.kill();
  await Promise.all(workers.map((w) => w.stop()));
  await redis.stop();
}
