// The page in a real browser (Debian's chromium), against the real gateway and worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT, startServices, type Services } from './services.ts';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const SHOTS = path.join(ROOT, 'artifacts/screenshots');
let services: Services;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const work = mkdtempSync(path.join(tmpdir(), 'e2e-'));

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  services = await startServices();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true });
  page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(services.url);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  await page.screenshot({ path: `${SHOTS}/1-empty.png`, fullPage: true });
});

after(async () => {
  await browser?.close();
  await services?.stop();
});

test('a LibriVox recording: segments appear while it works, then the transcript', async () => {
  const long = path.join(work, 'librivox.wav');
  execFileSync('sox', [...['0870', '0880', '0890', '0920', '0930'].map((n) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${n}.wav`), long]);
  await page.setInputFiles('#file', long);
  await page.selectOption('#model', 'base');
  await page.selectOption('#language', 'en');
  await page.click('#start');
  // Segments on screen while the progress bar is still shown: they came before the end.
  await page.waitForSelector('#segments li');
  const progressVisibleWithSegments = await page.evaluate(() => !document.getElementById('progress')!.hidden);
  await page.screenshot({ path: `${SHOTS}/2-transcribing.png`, fullPage: true });
  await page.waitForSelector('#progress[hidden]', { state: 'attached', timeout: 120_000 });
  assert.ok(progressVisibleWithSegments, 'segments appeared only after the transcription ended');
  const text = (await page.textContent('#segments'))!.toLowerCase();
  assert.match(text, /dashwood/);
  assert.match(text, /amiable/);
  assert.match((await page.textContent('#facts'))!, /English/);
  assert.equal(await page.isHidden('#error'), true);
  await page.screenshot({ path: `${SHOTS}/3-result.png`, fullPage: true });
});

test('clicking a segment plays from there, and the SRT download parses', async () => {
  const second = page.locator('#segments li').nth(1);
  await second.locator('button').click();
  const start = Number(await second.getAttribute('data-start'));
  const at = await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);
  assert.ok(Math.abs(at - start) < 1, `player at ${at}, segment starts at ${start}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-download="srt"]')]);
  const file = path.join(work, 'out.srt');
  await download.saveAs(file);
  const cues = readFileSync(file, 'utf8').trim().split(/\n\n/);
  assert.ok(cues.length >= 2);
  cues.forEach((cue, i) => {
    const [index, times, ...text] = cue.split('\n');
    assert.equal(index, String(i + 1));
    assert.match(times!, /^\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}$/);
    assert.ok(text.join(' ').trim().length > 0);
  });
  const recent = await page.textContent('#recent');
  assert.match(recent!, /librivox\.wav/);
});

test('a text file gets a clear error', async () => {
  const notAudio = path.join(work, 'notes.txt');
  writeFileSync(notAudio, 'these are my notes, not a recording\n'.repeat(30));
  await page.setInputFiles('#file', notAudio);
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /not audio or video/);
  await page.screenshot({ path: `${SHOTS}/4-error.png`, fullPage: true });
});

test('switching to Russian changes the interface', async () => {
  await page.click('#lang-ru');
  assert.equal(await page.textContent('#start'), 'Распознать');
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.match((await page.textContent('#recent-title'))!, /Недавние/);
  assert.match((await page.textContent('#error'))!, /не удаётся прочитать/); // the error shown before, now in Russian
  assert.match((await page.textContent('#segments'))!, /Dashwood/); // the last good transcript is still there
  await page.screenshot({ path: `${SHOTS}/5-russian.png`, fullPage: true });
  await page.click('#lang-en');
});

test('phone width in dark mode', async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  phone.on('pageerror', (e) => consoleErrors.push(e.message));
  await phone.goto(services.url);
  await phone.waitForSelector('#model option', { state: 'attached' });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await phone.screenshot({ path: `${SHOTS}/6-phone-dark.png`, fullPage: true });
  await phone.close();
});

test('the page logged no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
