// What the browser suites share: the real worker and gateway with a Chromium
// in front, a fresh context per test that fails it on console errors or on a
// key in the page's address, LibriVox clips and a talk of three voices, and
// checks of the page and the API.
import { before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { startServices, type Services } from '../../test-support/services.ts';
import { buildTalk } from '../../test-support/talk.ts';
import { LIBRIVOX, ROOT } from '../../test-support/worker.ts';
import { waitFor } from '../../test-support/wait.ts';
import type { Job } from '../src/jobs.ts';

export const SHOTS = path.join(ROOT, 'artifacts/screenshots');
export const work = mkdtempSync(path.join(tmpdir(), 'e2e-'));
const CLIPS = ['0870', '0880', '0890', '0920', '0930'].map((n) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${n}.wav`);
export let services: Services;
let browser: Browser;

/**
 * Starts the services (`env` for the gateway) and the browser before the file's
 * tests, stops them after. `browserArgs`: Chromium flags on top of the usual ones,
 * for every test of the file (e.g. `fakeMicrophone`'s).
 */
export function serve(env: Record<string, string> = {}, { browserArgs = [] }: { browserArgs?: string[] } = {}): void {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    services = await startServices(env);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...browserArgs],
    });
  });
  after(async () => {
    await browser?.close();
    await services?.stop();
  });
}

export interface OpenOptions extends BrowserContextOptions {
  /** Where to go, e.g. a job's link; the page's root by default. */
  at?: string;
  /** Console errors the test expects (the browser logs every 404 it fetches). */
  expectErrors?: RegExp;
  /** Runs in the page before its own scripts. */
  init?: () => void;
}

/**
 * A fresh context (another browser, as far as the page can tell) on the page,
 * not waiting for anything. Fails the test on console errors, and on any
 * address the page went to that holds a key (every test key starts with sk-).
 */
export async function openPage(t: TestContext, { at = '/', expectErrors, init, ...options }: OpenOptions = {}): Promise<Page> {
  const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true, ...options });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors: string[] = [];
  const addresses: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !expectErrors?.test(m.text()) && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('framenavigated', (frame) => frame === page.mainFrame() && addresses.push(frame.url()));
  t.after(async () => {
    addresses.push(page.url());
    await context.close();
    assert.deepEqual(errors, [], 'the page logged errors');
    assert.deepEqual(addresses.filter((a) => /api_key|sk-/.test(a)), [], 'a key was in the page\'s address');
  });
  await page.goto(services.url + at);
  return page;
}

/** The LibriVox clips joined `times` over into one file ("… John Dashwood …", 25 s each time). */
export function librivox(name: string, times = 1): string {
  const file = path.join(mkdtempSync(path.join(work, 'librivox-')), name);
  execFileSync('sox', [...Array.from({ length: times }, () => CLIPS).flat(), file]);
  return file;
}

/** The talk of three real voices (35 s) that the worker's and the gateway's speaker tests use (test-support/talk.ts), named `name`. */
export function talk(name = 'talk.wav'): string {
  const file = path.join(mkdtempSync(path.join(work, 'talk-')), name);
  copyFileSync(buildTalk().path, file);
  return file;
}

/**
 * Chromium's flags for a microphone that plays `clip` in a loop, granted to
 * every page without asking. `pause` seconds of silence after each pass end an
 * utterance for a live transcriber's voice detection. The file is made plain
 * PCM WAV (48 kHz, 16-bit, mono), the form Chromium's fake capture is known to read.
 */
export function fakeMicrophone(clip: string, pause = 1.5): string[] {
  const file = path.join(mkdtempSync(path.join(work, 'microphone-')), 'microphone.wav');
  execFileSync('sox', [clip, '-r', '48000', '-b', '16', '-c', '1', '-e', 'signed-integer', file, 'pad', '0', String(pause)]);
  return ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${file}`];
}

/** Submits a job through the API, as a program would, not through the page. */
export async function apiJob(file: string, filename: string, fields: Record<string, string> = { model: 'tiny.en' }, headers: Record<string, string> = {}): Promise<Job> {
  const body = new FormData();
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  body.append('file', new Blob([readFileSync(file)]), filename);
  const response = await fetch(`${services.url}/api/jobs`, { method: 'POST', body, headers });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()) as Job;
}

export const getJob = async (id: string, headers: Record<string, string> = {}) => (await (await fetch(`${services.url}/api/jobs/${id}`, { headers })).json()) as Job;
export const finishedJob = (id: string, headers: Record<string, string> = {}) => waitFor(`job ${id} to finish`, async () => {
  const job = await getJob(id, headers);
  return job.status !== 'queued' && job.status !== 'running' && job;
}, 120_000, 100);

export async function apiResult(id: string, format: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${services.url}/api/jobs/${id}/result?format=${format}`, { headers });
  assert.equal(response.status, 200, await response.clone().text());
  return response.text();
}

/** The job the page's address names. */
export async function jobInHash(page: Page): Promise<string> {
  const hash = await page.evaluate(() => location.hash);
  const id = /^#\/jobs\/([\w-]+)$/.exec(hash)?.[1];
  assert.ok(id, `the address names no job: '${hash}'`);
  return id;
}

/** Waits until the shown job has finished, one way or another. */
export async function settled(page: Page, timeout = 300_000): Promise<string> {
  await page.waitForSelector('#result[data-status="succeeded"], #result[data-status="failed"], #result[data-status="cancelled"], #error:not([hidden])', { timeout });
  return (await page.getAttribute('#result', 'data-status')) ?? 'none';
}

export async function assertSucceeded(page: Page): Promise<void> {
  assert.equal(await settled(page), 'succeeded', (await page.textContent('#error')) ?? '');
  assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
  assert.match((await page.textContent('#facts'))!, /English/);
  assert.match((await page.textContent('#segments'))!.toLowerCase(), /dashwood/);
}

/** Notes in <body data-live> whether a segment was on screen while the progress bar still was: proof that segments arrive live, however fast the machine. */
export async function noteLive(page: Page): Promise<void> {
  await page.evaluate(() => {
    const progress = document.getElementById('progress')!;
    new MutationObserver(() => {
      if (!progress.hidden && document.querySelector('#segments li')) document.body.dataset.live = 'yes';
    }).observe(document.getElementById('segments')!, { childList: true });
  });
}

/** Checks SubRip structure: numbered cues, HH:MM:SS,mmm times, non-empty text. */
export function assertSrt(srt: string): string[] {
  const cues = srt.trim().split(/\n\n/);
  assert.ok(cues.length >= 1, 'no cues');
  cues.forEach((cue, i) => {
    const [index, times, ...text] = cue.split('\n');
    assert.equal(index, String(i + 1));
    assert.match(times!, /^\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}$/);
    assert.ok(text.join(' ').trim().length > 0, `cue ${i + 1} has no text`);
  });
  return cues;
}

/** Clicks a download button; returns the URL the page fetched, its headers, the saved file's name and text. */
export async function downloadResult(page: Page, kind: 'txt' | 'srt' | 'vtt' | 'json') {
  const [request, download] = await Promise.all([
    page.waitForRequest((r) => r.url().includes('/result?format=')),
    page.waitForEvent('download'),
    page.click(`[data-download="${kind}"]`),
  ]);
  const headers = await request.allHeaders();
  return { url: new URL(request.url()), headers, name: download.suggestedFilename(), text: readFileSync((await download.path())!, 'utf8') };
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2.1 A and AA checks of the page as it is now: no violations. */
export async function assertAccessible(page: Page): Promise<void> {
  await page.evaluate(AXE); // not a <script>: the page's CSP allows none inline
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    const { violations } = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
  });
  assert.deepEqual(violations, [], 'axe-core found violations');
}

/** How much wider than the window the page is (0 or less: no sideways scrolling). */
export const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
