// Throughput of batching, through the whole stack (HTTP gateway + worker) against
// faster-whisper in-process, on the same audio and model in one run:
//
// - "today": the worker as before batching (WHISPER_SLOTS=1, WHISPER_BATCH_SIZE=1,
//   WHISPER_SHORT_WINDOWS=false:
//   one transcription at a time, decoded sequentially);
// - "batched": the worker's defaults with short windows on (WHISPER_SHORT_WINDOWS=true,
//   opt-in: long files through the batched pipeline, short ones in a short window,
//   concurrent requests sharing CTranslate2 calls);
// - in-process sequential and batched, one file after another.
//
//   node bench/gateway/batching.ts [--model base] [--rounds 2] [--clients 1,4,8]
//
// Results go to the Batching section of docs/benchmarks.md.
import { execFile, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openAsBlob, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startWorker, LIBRIVOX, ROOT, type RunningWorker } from '../../test-support/worker.ts';
import { librivoxReferences, wer } from '../../test-support/scoring.ts';
import { startGatewayProcess, type GatewayProcess } from '../../test-support/gateway-process.ts';
import { machine, writeSection } from './report.ts';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'base' }, rounds: { type: 'string', default: '2' }, clients: { type: 'string', default: '1,4,8' } } });
const MODEL = values.model!;
const ROUNDS = Number(values.rounds);
const CLIENTS = values.clients!.split(',').map(Number);
const SHORT_REQUESTS = 24; // per row, shared out between the clients
const PYTHON = path.join(ROOT, '.venv/bin/python');

interface Audio { file: string; seconds: number; reference: string }
interface Row { mode: string; audio: string; clients: number; wall: number; audioSeconds: number; latencies: number[]; errors: number; peakMiB: number; wer: number }

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const seconds = (file: string) => Number(execFileSync('soxi', ['-D', file], { encoding: 'utf8' }));

/** Five different 5–10 s clips (the three LibriVox clips over 5 s, and the two others each joined to its
 * neighbour: 8.3 and 9.3 s), and the five clips twelve times over (297 s) with its reference. */
function audio(): { short: Audio[]; long: Audio } {
  const refs = librivoxReferences();
  const ids = [...refs.keys()].sort();
  const folder = mkdtempSync(path.join(os.tmpdir(), 'bench-batching-'));
  const joined = (name: string, parts: string[]) => {
    const file = path.join(folder, `${name}.wav`);
    execFileSync('sox', [...parts.map((id) => path.join(LIBRIVOX, `${id}.wav`)), file]);
    return { file, seconds: seconds(file), reference: parts.map((id) => refs.get(id)!).join(' ') };
  };
  const singles = ids.map((id) => joined(id, [id]));
  const short = [...singles.filter((a) => a.seconds >= 5), joined('pair-1', ids.slice(1, 3)), joined('pair-2', ids.slice(3, 5))];
  return { short, long: joined('long', Array<string[]>(12).fill(ids).flat()) };
}


// Not execFileSync: a minute with the event loop blocked outlives the gateways' keep-alive, and the next
// request would be written into a socket the gateway has closed (EPIPE).
async function inProcess(batchSize: number, files: Audio[]): Promise<{ seconds: number[]; texts: string[] }> {
  const { stdout } = await promisify(execFile)(PYTHON, [path.join(ROOT, 'bench/worker/inprocess.py'), MODEL, String(batchSize), ...files.map((f) => f.file)], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

/** node:http, not fetch: fetch gives up after 300 s without headers, and 8 clients of 5-minute files wait longer than that in line. */
async function transcribe(url: string, file: string): Promise<string> {
  const form = new FormData();
  form.append('model', MODEL);
  form.append('language', 'en');
  form.append('file', await openAsBlob(file), path.basename(file));
  const encoded = new Request(url, { method: 'POST', body: form });
  const body = Buffer.from(await encoded.arrayBuffer());
  const request = http.request(`${url}/api/transcribe`, { method: 'POST', headers: { 'content-type': encoded.headers.get('content-type')!, 'content-length': body.length } });
  const [[response]] = (await Promise.all([once(request, 'response'), new Promise<void>((resolve) => request.end(body, () => resolve()))])) as [[http.IncomingMessage], unknown];
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${text}`);
  return (JSON.parse(text) as { text: string }).text;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** `clients` clients at once, each sending its share of `plan` one after another. */
async function load(stack: Stack, label: string, plan: Audio[], clients: number): Promise<Row> {
  const latencies: number[] = [];
  const pairs: Array<[string, string]> = [];
  let errors = 0;
  let peak = rssMiB(stack.worker.process.pid!);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(stack.worker.process.pid!))), 100);
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = c; i < plan.length; i += clients) {
      const t = performance.now();
      try {
        pairs.push([plan[i]!.reference, await transcribe(stack.gateway.url, plan[i]!.file)]);
        latencies.push((performance.now() - t) / 1000);
      } catch (e) {
        errors++;
        const cause = (e as Error).cause as { code?: string; message?: string } | undefined;
        console.error(`${stack.mode}: ${(e as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
      }
    }
  }));
  const wall = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const row = { mode: stack.mode, audio: label, clients, wall, audioSeconds: plan.reduce((s, a) => s + a.seconds, 0), latencies, errors, peakMiB: peak,
    wer: wer(pairs.map((p) => p[0]), pairs.map((p) => p[1])) };
  console.log(JSON.stringify({ ...row, latencies: undefined }));
  return row;
}

interface Stack { mode: string; worker: RunningWorker; gateway: GatewayProcess }

async function stack(mode: string, env: Record<string, string>): Promise<Stack> {
  const worker = await startWorker({ WHISPER_PRELOAD: MODEL, WHISPER_QUEUE_LIMIT: '64', ...env });
  const gateway = await startGatewayProcess({ WHISPER_WORKERS: worker.address, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bench-batching-data-')) });
  return { mode, worker, gateway };
}

const { short, long } = audio();
const shortPlan = Array.from({ length: SHORT_REQUESTS }, (_, i) => short[i % short.length]!);
const stacks = [await stack('today', { WHISPER_SLOTS: '1', WHISPER_BATCH_SIZE: '1', WHISPER_SHORT_WINDOWS: 'false' }), await stack('batched', { WHISPER_SHORT_WINDOWS: 'true' })];
try {
  for (const s of stacks) await transcribe(s.gateway.url, short[0]!.file); // warm-up
  // One client on the long file, each decoding mode against its in-process twin, alternated round by round.
  const paired: Record<string, number[]> = { 'in-process sequential': [], today: [], 'in-process batched': [], batched: [] };
  const pairedWer: Record<string, number> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [inproc, batch, s] of [['in-process sequential', 0, stacks[0]!], ['in-process batched', 8, stacks[1]!]] as const) {
      const local = await inProcess(batch, [long]);
      paired[inproc]!.push(local.seconds[0]!);
      pairedWer[inproc] = wer([long.reference], local.texts);
      const t = performance.now();
      const text = await transcribe(s.gateway.url, long.file);
      paired[s.mode]!.push((performance.now() - t) / 1000);
      pairedWer[s.mode] = wer([long.reference], [text]);
      console.log(inproc, paired[inproc]!.at(-1), s.mode, paired[s.mode]!.at(-1));
    }
  }
  const shortLocal = await inProcess(0, shortPlan);
  const rows: Row[] = [];
  for (const [label, plan] of [['5–10 s clips', shortPlan], ['5-minute file', null]] as const) {
    for (const clients of CLIENTS) {
      for (const s of stacks) rows.push(await load(s, label, plan ?? Array(clients).fill(long), clients));
    }
  }
  const rtfx = (audioSeconds: number, wall: number) => (audioSeconds / wall).toFixed(2);
  const spread = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' / ');
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratio = (stackMode: string, inproc: string) => (meanOf(paired[inproc]!) / meanOf(paired[stackMode]!)).toFixed(2);
  const shortAudio = shortPlan.reduce((s, a) => s + a.seconds, 0);
  const find = (mode: string, audioLabel: string, clients: number) => rows.find((r) => r.mode === mode && r.audio === audioLabel && r.clients === clients);
  const gain = (audioLabel: string, clients: number) => {
    const [a, b] = [find('today', audioLabel, clients), find('batched', audioLabel, clients)];
    return a && b ? `${(a.wall / a.audioSeconds / (b.wall / b.audioSeconds)).toFixed(2)}×` : 'n/a';
  };
  const lines = [
    '## Batching: the stack today and batched, against faster-whisper in-process',
    '',
    `Machine: ${machine()}. Model \`${MODEL}\`, int8 on CPU, beam 5, VAD, language en, through \`POST /api/transcribe\` (gateway and worker as their own processes). ` +
      '*today*: the worker as it was before batching (`WHISPER_SLOTS=1 WHISPER_BATCH_SIZE=1 WHISPER_SHORT_WINDOWS=false`: one transcription at a time, sequential decoding, every window 30 s); ' +
      '*batched*: the worker\'s defaults with `WHISPER_SHORT_WINDOWS=true` (files over 30 s through the batched pipeline, 8 windows a batch; files under 20 s in a short window, the audio + 5 s; up to 8 transcriptions at once sharing CTranslate2 calls). ' +
      `WER with Whisper's English normaliser over every answer in the row. Command: \`node bench/gateway/batching.ts --model ${MODEL} --rounds ${ROUNDS} --clients ${CLIENTS.join(',')}\`.`,
    '',
    `### One client, the ${long.seconds.toFixed(0)} s file: the stack against in-process in the same decoding mode`,
    '',
    `${ROUNDS} rounds, alternated: in-process sequential, today, in-process batched, batched. Seconds per round.`,
    '',
    '| decoding | in-process s | stack s | stack speed / in-process | in-process WER | stack WER |',
    '|---|---|---|---|---|---|',
    `| sequential | ${spread(paired['in-process sequential']!)} | ${spread(paired.today!)} | ${ratio('today', 'in-process sequential')}× | ${(pairedWer['in-process sequential']! * 100).toFixed(2)} % | ${(pairedWer.today! * 100).toFixed(2)} % |`,
    `| batched, 8 windows | ${spread(paired['in-process batched']!)} | ${spread(paired.batched!)} | ${ratio('batched', 'in-process batched')}× | ${(pairedWer['in-process batched']! * 100).toFixed(2)} % | ${(pairedWer.batched! * 100).toFixed(2)} % |`,
    '',
    `In-process, sequential, the same ${SHORT_REQUESTS} clips one after another: aggregate RTFx ${rtfx(shortAudio, shortLocal.seconds.reduce((a, b) => a + b, 0))}, p50 ${pct(shortLocal.seconds, 0.5).toFixed(2)} s, WER ${(wer(shortPlan.map((a) => a.reference), shortLocal.texts) * 100).toFixed(2)} %.`,
    '',
    `### Concurrent clients: ${SHORT_REQUESTS} clips a row shared out between the clients, or one 5-minute file a client`,
    '',
    '| audio | clients | mode | aggregate RTFx | p50 s | p95 s | errors | WER | worker peak RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.audio} | ${r.clients} | ${r.mode} | ${rtfx(r.audioSeconds, r.wall)} | ${pct(r.latencies, 0.5).toFixed(2)} | ${pct(r.latencies, 0.95).toFixed(2)} | ${r.errors} | ${(r.wer * 100).toFixed(2)} % | ${r.peakMiB.toFixed(0)} |`),
    '',
    `Batched over today, aggregate throughput: ${CLIENTS.map((c) => `${c} client(s): clips ${gain('5–10 s clips', c)}, 5-minute file ${gain('5-minute file', c)}`).join('; ')}.`,
  ];
  writeSection('batching', lines);
} finally {
  for (const s of stacks) {
    await s.gateway.kill();
    await s.worker.stop();
  }
}
