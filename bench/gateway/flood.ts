// A realtime client that floods a session faster than real time, against the
// gateway and the worker as processes, with their memory sampled throughout:
// what a hostile or broken client costs the server. The client keeps going
// whatever it is told, and opens a new session when one is closed on it.
//
//   node bench/gateway/flood.ts [--seconds 60] [--speed 18.5] [--model base] [--baseline DIR]
//
// --baseline DIR: a second checkout (with gateway/node_modules and its protocol
// types built) measured the same way in the same run, e.g. the previous commit
// made with `git worktree add DIR HEAD~1`. Results go to the "Live captions
// under a flood" section of docs/benchmarks.md.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { CLIP, ROOT, freePort } from '../../test-support/worker.ts';
import { waitFor } from '../../test-support/wait.ts';
import { machine, writeSection } from './report.ts';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '60' }, speed: { type: 'string', default: '18.5' }, model: { type: 'string', default: 'base' }, baseline: { type: 'string' },
} });
const SECONDS = Number(values.seconds);
const SPEED = Number(values.speed);
const RATE = 24000;
const APPEND_MS = 500;

interface Run {
  label: string;
  sent: number; // seconds of audio appended
  accepted: number; // appends not refused
  errors: Record<string, number>;
  closes: Record<string, number>;
  finals: number;
  gateway: number[]; // RSS samples, MiB
  worker: number[];
}

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

async function startWorker(root: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(path.join(ROOT, '.venv/bin/python'), ['-m', 'whisper_worker'], {
    env: { ...process.env, PYTHONPATH: path.join(root, 'worker'), WHISPER_PORT: '0', WHISPER_MODELS_DIR: path.join(ROOT, 'models'), HF_HUB_OFFLINE: '1', WHISPER_SLOTS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
    createInterface({ input: child.stderr! }).on('line', (line) => line.includes('"listening"') && resolve(JSON.parse(line).port));
  });
  return { child, address: `127.0.0.1:${port}` };
}

async function startGateway(root: string, worker: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: path.join(root, 'gateway'),
    env: { ...process.env, SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', WHISPER_WORKERS: worker, LOG_LEVEL: 'error', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'bench-flood-')), OPENAI_MODEL_ALIASES: `whisper-1=${values.model}` },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the gateway', async () => (await fetch(`${url}/api/health`).catch(() => null))?.status === 200, 60_000, 100);
  return { child, url };
}

/** One session (Node's own WebSocket client) that appends as told, however it is answered; resolves when it is closed. */
function session(url: string, speech: Buffer, run: Run, until: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/realtime?intent=transcription&model=whisper-1`);
    const bytes = (RATE * APPEND_MS) / 1000 * 2;
    let timer: NodeJS.Timeout | null = null;
    let n = 0;
    socket.addEventListener('message', (message) => {
      const event = JSON.parse(String(message.data));
      if (event.type === 'error') run.errors[event.error.code] = (run.errors[event.error.code] ?? 0) + 1;
      if (event.type === 'conversation.item.input_audio_transcription.completed') run.finals += 1;
    });
    socket.addEventListener('open', () => {
      const start = performance.now();
      const tick = () => {
        if (socket.readyState !== WebSocket.OPEN || Date.now() >= until) return socket.close();
        const at = (n * bytes) % (speech.length - bytes);
        socket.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: speech.subarray(at, at + bytes).toString('base64') }));
        run.sent += APPEND_MS / 1000;
        n += 1;
        timer = setTimeout(tick, Math.max(0, start + (n * APPEND_MS) / SPEED - performance.now()));
      };
      tick();
    });
    socket.addEventListener('close', ({ code }) => {
      if (timer) clearTimeout(timer);
      run.closes[code] = (run.closes[code] ?? 0) + 1;
      resolve();
    });
  });
}

async function measure(label: string, root: string): Promise<Run> {
  const speech = execFileSync('sox', [CLIP, '-r', String(RATE), '-c', '1', '-b', '16', '-e', 'signed-integer', '-L', '-t', 'raw', '-'], { maxBuffer: 64 << 20 });
  const worker = await startWorker(root);
  const gateway = await startGateway(root, worker.address);
  const run: Run = { label, sent: 0, accepted: 0, errors: {}, closes: {}, finals: 0, gateway: [], worker: [] };
  try {
    // Warm: the model loaded and one file decoded, so what grows afterwards is the flood's.
    const body = new FormData();
    body.append('file', new Blob([readFileSync(CLIP)]), 'warm.wav');
    body.append('model', values.model!);
    const warm = await fetch(`${gateway.url}/api/transcribe`, { method: 'POST', body });
    if (warm.status !== 200) throw new Error(`warm-up: HTTP ${warm.status}`);
    const sample = () => (run.gateway.push(rss(gateway.child.pid!)), run.worker.push(rss(worker.child.pid!)));
    sample();
    const sampler = setInterval(sample, 2000);
    const until = Date.now() + SECONDS * 1000;
    while (Date.now() < until) await session(gateway.url, speech, run, until); // a new session whenever one is closed on it
    clearInterval(sampler);
    sample();
  } finally {
    gateway.child.kill('SIGKILL');
    worker.child.kill('SIGKILL');
  }
  return run;
}

// Warm start → the largest sample, and the growth over the run's second half (a bound shows as none).
const mib = (xs: number[]) => {
  const half = xs[Math.floor(xs.length / 2)]!;
  return `${xs[0]!.toFixed(0)} → ${Math.max(...xs).toFixed(0)} (+${(Math.max(...xs) - xs[0]!).toFixed(0)}); 2nd half ${xs.at(-1)! - half >= 0 ? '+' : ''}${(xs.at(-1)! - half).toFixed(0)}`;
};

const runs = [await measure('this checkout', ROOT)];
if (values.baseline) runs.push(await measure(`baseline (${path.basename(values.baseline)})`, path.resolve(values.baseline)));
const lines = [
  `${machine()}; model \`${values.model}\` (1 slot); a client appends 0.5 s of LibriVox speech at ${SPEED}× real time for ${SECONDS} s,`,
  'ignoring every error, and opens a new session whenever one is closed on it. RSS sampled every 2 s after a warm-up (the model loaded,',
  'one file decoded), MiB: warm → largest (+growth); and the change over the run\'s second half.',
  `Command: \`node bench/gateway/flood.ts --seconds ${SECONDS} --speed ${SPEED} --model ${values.model}${values.baseline ? ' --baseline DIR' : ''}\`.`,
  '',
  '| | audio sent | refused (`buffer_full`) | sessions closed on it (1008) | finals | gateway RSS | worker RSS |',
  '|---|---|---|---|---|---|---|',
  ...runs.map((r) => `| ${r.label} | ${r.sent.toFixed(0)} s | ${r.errors.buffer_full ?? 0} appends | ${r.closes[1008] ?? 0} | ${r.finals} | ${mib(r.gateway)} | ${mib(r.worker)} |`),
];
writeSection('Live captions under a flood', lines);
process.exit(0);
