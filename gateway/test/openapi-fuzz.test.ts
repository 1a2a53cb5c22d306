// The HTTP API fuzzed from its own OpenAPI document: schemathesis (pinned in
// worker/requirements-dev.txt) against a real gateway process and a real worker
// (tiny.en), API keys on. Every check of schemathesis is on (test/fuzz/
// schemathesis.toml says which answers the document cannot express, and
// test/fuzz/hooks.py adds its own), so the test fails on an answer the document
// does not declare (status, content type, headers, body), on any 5xx, on a
// valid request refused or an invalid one accepted, and when the service is not
// up and well afterwards. Deterministic: hypothesis runs derandomized.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, SHORT_CLIP, startWorker } from '../../test-support/worker.ts';
import { startGatewayProcess } from '../../test-support/gateway-process.ts';

const SCHEMATHESIS = path.join(ROOT, '.venv/bin/schemathesis');
const FUZZ = path.join(ROOT, 'gateway/test/fuzz');
/** Cases per operation and phase (FUZZ_MAX_EXAMPLES): about 2000 requests, 1.5 minutes on 2 cores. */
const MAX_EXAMPLES = Number(process.env.FUZZ_MAX_EXAMPLES ?? 75);
const KEY = 'fuzz-key-0123456789';

/** Runs a command to its end: its exit code and its output (stdout and stderr, interleaved). */
function run(command: string, args: string[], env: Record<string, string>, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

test('the API answers only what /openapi.json documents (schemathesis, real gateway and worker, keys on)', async () => {
  assert.ok(existsSync(SCHEMATHESIS), `${SCHEMATHESIS} is missing: run \`make python\` (worker/requirements-dev.txt pins it)`);
  const worker = await startWorker({ WHISPER_PRELOAD: 'tiny.en' });
  try {
    const gateway = await startGatewayProcess({
      WHISPER_WORKERS: worker.address,
      DATA_DIR: mkdtempSync(path.join(tmpdir(), 'fuzz-data-')),
      API_KEYS: `fuzz:${KEY}`,
      DEFAULT_MODEL: 'tiny.en',
      OPENAI_MODEL_ALIASES: 'whisper-1=tiny.en,base=tiny.en', // every model the document names as an example runs on tiny.en
      // The fuzz sends about 2000 requests in 1.5 minutes: a limit it would reach makes every later answer a 429.
      RATE_LIMIT_PER_MINUTE: '100000',
    });
    try {
      const auth = { authorization: `Bearer ${KEY}` };
      // What the fuzz cannot reach without a key and under the rate limit: every guarded operation declares 401 and 429.
      const doc = await (await fetch(`${gateway.url}/openapi.json`)).json();
      for (const [url, operations] of Object.entries<Record<string, { responses: Record<string, unknown> }>>(doc.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const declared = Object.keys(operation.responses);
          for (const status of url === '/api/health' ? ['400', '500'] : ['400', '401', '429', '500']) {
            assert.ok(declared.includes(status), `${method.toUpperCase()} ${url} does not declare ${status} (it declares ${declared.join(', ')})`);
          }
        }
      }

      const started = performance.now();
      const runDir = mkdtempSync(path.join(tmpdir(), 'fuzz-run-'));
      const { code, output } = await run(SCHEMATHESIS, [
        '--config-file', path.join(FUZZ, 'schemathesis.toml'),
        'run', `${gateway.url}/openapi.json`,
        '--header', `Authorization: Bearer ${KEY}`,
        '--max-examples', String(MAX_EXAMPLES),
        '--no-color',
      ], { SCHEMATHESIS_HOOKS: path.join(FUZZ, 'hooks.py'), FUZZ_AUDIO: SHORT_CLIP }, runDir);
      const seconds = Math.round((performance.now() - started) / 1000);
      writeFileSync(path.join(runDir, 'schemathesis.txt'), output);
      const summary = output.slice(output.lastIndexOf('SUMMARY'));
      // Its reproductions carry whole uploads: the failures' headings and the summary say what failed, the file the rest.
      const headings = output.split('\n')
        .filter((line) => /^(_{3,} .* _{3,}|- ST\d+ .*|\[\d{3}\] .*|    (Received|Documented|Invalid component|Actual|Limit|A form|Job |`).*)$/.test(line))
        .map((line) => line.slice(0, 400)).join('\n');
      assert.equal(code, 0, `schemathesis found failures (exit ${code}, ${seconds} s; all of its output: ${path.join(runDir, 'schemathesis.txt')}):\n${headings}\n${summary}`);
      process.stdout.write(`# schemathesis: ${MAX_EXAMPLES} examples per operation and phase, ${seconds} s\n# ${summary.replaceAll('\n', '\n# ')}\n`);

      // Still up and well, and nothing failed unseen in the background.
      const health = await fetch(`${gateway.url}/api/health`, { headers: auth });
      assert.equal(health.status, 200, `after the fuzz, /api/health answers ${health.status}:\n${gateway.log()}`);
      const body = await health.json();
      assert.equal(body.status, 'ok');
      assert.deepEqual(body.workers.map((w: { up: boolean }) => w.up), [true]);
      assert.equal(gateway.process.exitCode, null, 'the gateway exited');
      assert.deepEqual(gateway.bugs(), []);
      const languages = await fetch(`${gateway.url}/api/languages`, { headers: auth });
      assert.equal(languages.status, 200);
    } finally {
      await gateway.kill();
    }
  } finally {
    await worker.stop();
  }
});
