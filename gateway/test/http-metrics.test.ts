// GET /metrics over real HTTP in front of the real worker: the worker gauges
// come from the real pool (WorkerPool, with each worker's raw status), and a
// real transcription moves the job metrics with the worker's own timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { CLIP } from '../../test-support/worker.ts';
import { form, workerAndGateway } from '../../test-support/gateway.ts';

const services = workerAndGateway();

/** The value of the sample `name{labels…}` (the labels given must all match; others may be there too). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const line = lines.find((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('a real transcription moves the job metrics; the worker gauges are the worker\'s', async () => {
  const response = await fetch(`${services.gw.url}/api/transcribe`, { method: 'POST', body: form(await openAsBlob(CLIP), { model: 'tiny.en' }) });
  assert.equal(response.status, 200);
  const result = await response.json();

  const scrape = await fetch(`${services.gw.url}/metrics`);
  assert.equal(scrape.status, 200);
  assert.match(scrape.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const text = await scrape.text();

  assert.equal(sample(text, 'whisper_jobs_total', { status: 'succeeded' }), 1);
  assert.ok(Math.abs(sample(text, 'whisper_audio_seconds_total', { model: 'tiny.en', task: 'transcribe' })! - result.duration) < 1e-6);
  assert.equal(sample(text, 'whisper_realtime_factor_count', { model: 'tiny.en' }), 1);
  assert.ok(Math.abs(sample(text, 'whisper_realtime_factor_sum', { model: 'tiny.en' })! - result.duration / result.timing.decode_seconds) < 1e-6);
  assert.equal(sample(text, 'whisper_http_requests_total', { route: '/api/transcribe', method: 'POST', status: '200' }), 1);
  assert.equal(sample(text, 'whisper_jobs_queued'), 0);
  assert.equal(sample(text, 'whisper_jobs_running'), 0);

  const at = { worker: services.worker.address };
  assert.equal(sample(text, 'whisper_worker_up', at), 1);
  assert.equal(sample(text, 'whisper_worker_slots', at), 1);
  assert.equal(typeof sample(text, 'whisper_worker_running', at), 'number');
  // The real status's memory: a number on CUDA, null (so no series) on a CPU.
  const device = (await (await fetch(`${services.gw.url}/api/health`)).json()).workers[0].device as string;
  const gpu = sample(text, 'whisper_worker_gpu_memory_bytes', at);
  if (device.startsWith('cuda')) assert.ok(gpu! > 0, `GPU memory on ${device}: ${gpu}`);
  else assert.equal(gpu, undefined, `no GPU series on ${device}`);
  assert.ok(sample(text, 'whisper_gateway_process_resident_memory_bytes')! > 0);
});
