// Several real workers behind one gateway: scheduling, a worker killed
// mid-run, all workers gone; the gateway's memory under a 500 MB upload; and a
// 1 GiB upload over a slow link, during which the worker must stay up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openAsBlob, mkdtempSync, readFileSync } from 'node:fs';
import { appendFile, copyFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startWorker, CLIP, SHORT_CLIP, ROOT } from '../../test-support/worker.ts';
import { startGateway, form } from '../../test-support/gateway.ts';
import { waitFor } from '../../test-support/wait.ts';
import { startThrottle } from '../../test-support/throttle.ts';
import type { WorkerPool } from '../src/workers/pool.ts';

async function longClip(): Promise<string> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'long-')), 'long.wav');
  execFileSync('sox', [...Array(12).fill(CLIP), out]); // ~85 s: long enough to be killed mid-run
  return out;
}

async function nextEvent(reader: ReadableStreamDefaultReader<Uint8Array>, buffer: { text: string }, name: string): Promise<void> {
  while (!buffer.text.includes(`event: ${name}`)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before '${name}': ${buffer.text.slice(-500)}`);
    buffer.text += new TextDecoder().decode(value);
  }
}

test('a short job goes to the idle worker, and a killed worker\'s job finishes on the other', async () => {
  const workers = [await startWorker({ WHISPER_SLOTS: '1' }), await startWorker({ WHISPER_SLOTS: '1' })];
  const gw = await startGateway(workers.map((w) => w.address));
  try {
    // Sequential decoding: segments come window by window, so the long job is still running after its first one.
    const long = await fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(await longClip()), { model: 'base', stream: 'true', batch_size: '0' }) });
    const reader = long.body!.getReader();
    const buffer = { text: '' };
    await nextEvent(reader, buffer, 'segment');

    const short = await fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(SHORT_CLIP), { model: 'tiny.en' }) });
    assert.equal(short.status, 200);
    assert.match((await short.json()).text.toLowerCase(), /\bman\b/);
    // Read from the store as the short one answers: the long job is still running, so the short one did not wait behind it.
    const { jobs } = await (await fetch(`${gw.url}/api/jobs?limit=2`)).json();
    assert.deepEqual(jobs.map((j: { filename: string; status: string }) => [j.filename, j.status]), [['audio.wav', 'succeeded'], ['audio.wav', 'running']]);

    const started = JSON.parse(/event: started\ndata: (.*)/.exec(buffer.text)![1]!);
    await workers.find((w) => w.address === started.worker)!.stop();

    await nextEvent(reader, buffer, 'result');
    const result = JSON.parse(/event: result\ndata: (.*)/.exec(buffer.text)![1]!);
    assert.match(result.text.toLowerCase(), /dashwood/);
    assert.ok(result.duration > 80);

    const degraded = await fetch(`${gw.url}/api/health`);
    assert.equal(degraded.status, 200);
    assert.equal((await degraded.json()).status, 'degraded');

    for (const w of workers) await w.stop();
    await waitFor('health to say no worker is up', async () => (await fetch(`${gw.url}/api/health`)).status === 503);
    const refused = await fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(SHORT_CLIP), { model: 'tiny.en' }) });
    assert.equal(refused.status, 503);
    const body = await refused.json();
    assert.equal(body.error.code, 'no_worker');
    assert.match(body.error.message, /127\.0\.0\.1:\d+/);
  } finally {
    await gw.close();
    for (const w of workers) await w.stop();
  }
});


function memoryKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

test('a 500 MB upload leaves the gateway\'s memory flat', async () => {
  const worker = await startWorker();
  const port = await freePort();
  const gateway = spawn(process.execPath, ['src/server.ts'], {
    cwd: path.join(ROOT, 'gateway'),
    env: { ...process.env, SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', WHISPER_WORKERS: worker.address, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor('the gateway to be healthy', async () => (await fetch(`${url}/api/health`)).status === 200);
    // Warm up: one real request, so that what is measured is the upload alone.
    assert.equal((await fetch(`${url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(SHORT_CLIP), { model: 'tiny.en' }) })).status, 200);
    const before = memoryKb(gateway.pid!, 'VmRSS');
    const big = path.join(mkdtempSync(path.join(tmpdir(), 'big-')), 'big.bin');
    await writeFile(big, 'not audio');
    await truncate(big, 500 * 1024 * 1024);
    const response = await fetch(`${url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(big), { model: 'tiny.en' }) });
    assert.equal(response.status, 400);
    assert.equal((await response.json()).error.code, 'undecodable_audio');
    const peak = memoryKb(gateway.pid!, 'VmHWM');
    const grew = (peak - before) / 1024;
    console.log(`gateway RSS before ${(before / 1024).toFixed(1)} MB, peak during a 500 MB upload ${(peak / 1024).toFixed(1)} MB (+${grew.toFixed(1)} MB)`);
    // Measured: a sawtooth of +50..65 MB. Upload chunks are garbage at once, but V8 collects
    // external buffers only after about 64 MB of them; what matters is that the peak does not
    // follow the file's size (500 MB).
    assert.ok(grew <= 80, `the gateway grew by ${grew.toFixed(1)} MB`);
  } finally {
    gateway.kill();
    await worker.stop();
  }
});

test('a 1 GiB upload throttled to 20 MiB/s between the gateway and the worker succeeds, with the worker up throughout', async () => {
  const GIB = 1024 ** 3;
  const RATE = 20 * 1024 ** 2;
  const worker = await startWorker();
  const proxy = await startThrottle({ host: '127.0.0.1', port: worker.port }, RATE);
  const gw = await startGateway([proxy.address], { MAX_UPLOAD_BYTES: String(2 * GIB) });
  const dir = mkdtempSync(path.join(tmpdir(), 'huge-'));
  const sampler: { timer?: NodeJS.Timeout } = {};
  try {
    // The clip, then 1 GiB of zeros, sparse (no time to make). The WAV's data chunk bounds what
    // FFmpeg decodes. The zeros sit in a RIFF 'JUNK' chunk, which FFmpeg skips in one seek: bare
    // zeros decode to the same 7 s too, but FFmpeg walks them 8 bytes at a time (45 s measured).
    const huge = path.join(dir, 'huge.wav');
    await copyFile(CLIP, huge);
    const junk = Buffer.from('JUNK\0\0\0\0');
    junk.writeUInt32LE(GIB, 4);
    await appendFile(huge, junk);
    await truncate(huge, (await stat(huge)).size + GIB);

    // Every state the worker passes through, and its `up` as /api/health reports it, sampled meanwhile.
    const changes: string[] = [];
    (gw.dispatch.directory as WorkerPool).subscribe((w, from) => {
      if (w.state !== from) changes.push(`${from}->${w.state}: ${w.error}`);
    });
    const ups: boolean[] = [];
    sampler.timer = setInterval(() => ups.push(gw.dispatch.directory.workers()[0]!.up), 100);
    const started = performance.now();
    const response = await fetch(`${gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(huge), { model: 'tiny.en' }) });
    const body = await response.json();
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler.timer);
    console.log(`1 GiB through a ${RATE / 1024 ** 2} MiB/s link: ${seconds.toFixed(1)} s; ${ups.length} samples of the worker's state`);
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.match(body.text.toLowerCase(), /dashwood/);
    assert.ok(proxy.forwarded() > GIB, `the audio went through the slow link (${proxy.forwarded()} bytes)`);
    assert.ok(seconds > (GIB / RATE) * 0.9, `the link was that slow (${seconds.toFixed(1)} s)`);
    assert.deepEqual(changes, [], 'the worker never changed state');
    assert.ok(ups.length > 0 && ups.every(Boolean), `the worker was up in every sample (${ups.filter((u) => !u).length} down)`);
  } finally {
    clearInterval(sampler.timer);
    await gw.close();
    await proxy.close();
    await worker.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
