// The gateway's cost: HTTP end to end against the worker protocol directly on
// the same audio, then a concurrent load of 1, 4 and 16 clients (autocannon).
//
//   node bench/gateway/run.ts
//
// Results go to the Gateway section of docs/benchmarks.md.
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { WorkerConnection } from '../../gateway/src/workers/connection.ts';
import { startWorker, SHORT_CLIP } from '../../test-support/worker.ts';
import { startGatewayProcess } from '../../test-support/gateway-process.ts';
import { machine, writeSection } from './report.ts';

// autocannon is one of the gateway's dev dependencies: resolve it from there.
const autocannon = createRequire(new URL('../../gateway/package.json', import.meta.url))('autocannon');
const MODEL = 'tiny.en';
const ROUNDS = 20;
const LOAD_SECONDS = 20;


const kb = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function direct(port: number): Promise<number[]> {
  const connection = await WorkerConnection.open({ host: '127.0.0.1', port, connectTimeoutMs: 3000, drainTimeoutMs: 60_000, maxReplyFrame: 64 << 20 });
  const bytes = statSync(SHORT_CLIP).size;
  const times: number[] = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) =>
      connection.send({ command: 'transcribe', model: MODEL, options: {} }, (reply) => {
        if (reply.type === 'result') resolve();
        else if (reply.type === 'error') reject(new Error(JSON.stringify(reply.error)));
      }, { path: SHORT_CLIP, bytes }),
    );
    if (i > 0) times.push(performance.now() - started); // the first one warms up
  }
  connection.close();
  return times;
}

async function overHttp(url: string): Promise<number[]> {
  const audio = new Blob([readFileSync(SHORT_CLIP)]);
  const times: number[] = [];
  for (let i = 0; i <= ROUNDS; i++) {
    const body = new FormData();
    body.append('model', MODEL);
    body.append('file', audio, 'clip.wav');
    const started = performance.now();
    const response = await fetch(`${url}/api/transcribe`, { method: 'POST', body });
    await response.json();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    if (i > 0) times.push(performance.now() - started);
  }
  return times;
}

function multipart(): { body: Buffer; contentType: string } {
  const boundary = 'bench-boundary-7d1f';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${MODEL}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.wav"\r\nContent-Type: audio/wav\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), readFileSync(SHORT_CLIP), Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

async function load(url: string, pid: number, connections: number) {
  const { body, contentType } = multipart();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, kb(pid, 'VmRSS'))), 100);
  const result = await autocannon({ url: `${url}/api/transcribe`, method: 'POST', headers: { 'content-type': contentType }, body, connections, duration: LOAD_SECONDS, timeout: 120 });
  clearInterval(sampler);
  return { connections, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, ok: result['2xx'], errors: result.non2xx + result.errors, peak };
}

const worker = await startWorker({ WHISPER_SLOTS: '2', WHISPER_PRELOAD: MODEL, WHISPER_QUEUE_LIMIT: '64' });
// Its own DATA_DIR: the jobs this run makes are not left in the repository's.
const gateway = await startGatewayProcess({ WHISPER_WORKERS: worker.address, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'bench-gateway-')) });
const { url } = gateway;
try {
  const tcp = await direct(worker.port);
  const http = await overHttp(url);
  const idle = kb(gateway.process.pid!, 'VmRSS');
  const loads = [];
  for (const c of [1, 4, 16]) loads.push(await load(url, gateway.process.pid!, c));
  const lines = [
    '## Gateway: HTTP end to end vs the worker protocol directly',
    '',
    `Machine: ${machine()}. Model \`${MODEL}\` on a 3 s LibriVox clip, worker with 2 slots, model preloaded, ${ROUNDS} sequential requests after one warm-up. Command: \`node bench/gateway/run.ts\`.`,
    '',
    '| path | mean ms | p50 ms |',
    '|---|---|---|',
    `| worker protocol, direct (TS client) | ${mean(tcp).toFixed(1)} | ${median(tcp).toFixed(1)} |`,
    `| HTTP \`POST /api/transcribe\` through the gateway | ${mean(http).toFixed(1)} | ${median(http).toFixed(1)} |`,
    `| **gateway overhead** | **${(mean(http) - mean(tcp)).toFixed(1)}** | **${(median(http) - median(tcp)).toFixed(1)}** |`,
    '',
    `Concurrent load with autocannon, ${LOAD_SECONDS} s per row; the gateway's resident memory when idle: ${idle.toFixed(0)} MiB.`,
    '',
    '| clients | requests/s | p50 ms | p99 ms | 2xx | errors | gateway peak RSS MiB |',
    '|---|---|---|---|---|---|---|',
    ...loads.map((l) => `| ${l.connections} | ${l.rps.toFixed(2)} | ${l.p50} | ${l.p99} | ${l.ok} | ${l.errors} | ${l.peak.toFixed(0)} |`),
  ];
  writeSection('gateway', lines);
} finally {
  await gateway.kill();
  await worker.stop();
}
