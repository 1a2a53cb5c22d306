// The page in a real browser (Debian's chromium), against the real gateway and worker.
// Every test opens its own browser context and seeds what it needs, so any one runs alone
// and in any order. Model output differs a little between CPUs (int8, temperature
// fallback): tests check the detected language and one clear word, no more.
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { startServices, type Services } from '../../test-support/services.ts';
import { LIBRIVOX, ROOT } from '../../test-support/worker.ts';
import type { Entry } from '../src/history.ts';
import type { Segment } from '../src/api.ts';

type Cue = Omit<Segment, 'id'>; // a segment as /api/subtitles takes it
const SHOTS = path.join(ROOT, 'artifacts/screenshots');
const work = mkdtempSync(path.join(tmpdir(), 'e2e-'));
let services: Services;
let browser: Browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  services = await startServices();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  await browser?.close();
  await services?.stop();
});

/** A fresh context with `history` in its localStorage, on the loaded page; fails the test on console errors. */
async function open(t: TestContext, options: BrowserContextOptions & { history?: Entry[] } = {}): Promise<Page> {
  const { history, ...contextOptions } = options;
  const context = await browser.newContext({ locale: 'en-US', acceptDownloads: true, ...contextOptions });
  if (history) {
    // Only when absent: a reload must keep what the page itself stored since.
    await context.addInitScript((json) => localStorage.getItem('whisper.history') ?? localStorage.setItem('whisper.history', json), JSON.stringify(history));
  }
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  t.after(async () => {
    await context.close();
    assert.deepEqual(errors, [], 'the page logged errors');
  });
  await page.goto(services.url);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  await page.waitForSelector('#language option[value="de"]', { state: 'attached' });
  return page;
}

/** A Recent entry as the page stores it; words spread evenly over a segment where asked. */
function entry(name: string, segments: Array<[number, number, string]>, withWords = false): Entry {
  const timed: Segment[] = segments.map(([start, end, text], id) => {
    if (!withWords) return { id, start, end, text };
    const words = text.trim().split(' ');
    const step = (end - start) / words.length;
    return { id, start, end, text, words: words.map((word, i) => ({ word: ` ${word}`, start: start + i * step, end: start + (i + 1) * step, probability: 0.9 })) };
  });
  return {
    id: crypto.randomUUID(),
    name,
    at: Date.now(),
    transcript: {
      text: segments.map((s) => s[2]).join(''), language: 'en', language_probability: 0.97, duration: segments.at(-1)?.[1] ?? 3,
      model: 'base', task: 'transcribe', segments: timed, timing: { total_seconds: 1, decode_seconds: 1 },
    },
  };
}

const MEETING = entry('meeting.mp3', [
  [0, 4.5, ' Good morning, and thank you all for coming to the annual meeting of the garden society.'],
  [4.5, 8.25, ' Today we will talk about the roses, the library and the new roof over the shed.'],
], true);

/** Checks SubRip structure: numbered cues, HH:MM:SS,mmm times, non-empty text. */
function assertSrt(srt: string): string[] {
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

/** Clicks a download button; returns what the page posted to /api/subtitles and the saved file. */
async function downloadSubtitles(page: Page, kind: 'srt' | 'vtt') {
  const [request, download] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith('/api/subtitles') && r.method() === 'POST'),
    page.waitForEvent('download'),
    page.click(`[data-download="${kind}"]`),
  ]);
  const body = request.postDataJSON() as { format: string; segments: Cue[] };
  return { body, name: download.suggestedFilename(), text: readFileSync((await download.path())!, 'utf8') };
}

async function apiSubtitles(format: string, segments: Cue[]): Promise<string> {
  const response = await fetch(`${services.url}/api/subtitles`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ format, segments }) });
  assert.equal(response.status, 200, await response.clone().text());
  return response.text();
}

test('a LibriVox recording: segments appear live, then the transcript, the player and an SRT from the API', async (t) => {
  const page = await open(t);
  const recording = path.join(work, 'librivox.wav');
  execFileSync('sox', [...['0870', '0880', '0890', '0920', '0930'].map((n) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${n}.wav`), recording]);
  await page.setInputFiles('#file', recording);
  await page.selectOption('#model', 'base');
  // Notes whether a segment was on screen while the progress bar still was: proof that
  // segments arrive live, however fast the machine.
  await page.evaluate(() => {
    const progress = document.getElementById('progress')!;
    new MutationObserver(() => {
      if (!progress.hidden && document.querySelector('#segments li')) document.body.dataset.live = 'yes';
    }).observe(document.getElementById('segments')!, { childList: true });
  });
  await page.click('#start');
  await page.waitForSelector('#segments li');
  await page.screenshot({ path: `${SHOTS}/2-transcribing.png`, fullPage: true });
  await page.waitForSelector('#facts div, #error:not([hidden])', { timeout: 300_000 });
  assert.equal(await page.isHidden('#error'), true, await page.textContent('#error') ?? '');
  assert.equal(await page.getAttribute('body', 'data-live'), 'yes', 'segments appeared only after the transcription ended');
  assert.match((await page.textContent('#facts'))!, /English/); // detected: the language menu was left on automatic
  assert.match((await page.textContent('#segments'))!.toLowerCase(), /dashwood/);
  assert.match((await page.textContent('#recent'))!, /librivox\.wav/);
  await page.screenshot({ path: `${SHOTS}/3-result.png`, fullPage: true });

  const last = page.locator('#segments li').last();
  const start = Number(await last.getAttribute('data-start'));
  await last.locator('button').click();
  await page.waitForFunction((s) => Math.abs((document.getElementById('audio') as HTMLAudioElement).currentTime - s) < 1, start);

  const srt = await downloadSubtitles(page, 'srt');
  assert.equal(srt.body.format, 'srt');
  assert.equal(srt.body.segments.length, await page.locator('#segments li').count());
  assert.equal(srt.name, 'librivox.srt');
  assertSrt(srt.text);
  assert.match(srt.text.toLowerCase(), /dashwood/);
});

test('a transcript reopened from Recent downloads SRT and VTT made by the API from its segments', async (t) => {
  const page = await open(t, { history: [MEETING] });
  await page.click('#recent button');
  assert.match((await page.textContent('#segments'))!, /garden society/);
  const posted: Cue[] = JSON.parse(JSON.stringify(MEETING.transcript.segments.map(({ start, end, text, words }) => ({ start, end, text, words }))));

  const srt = await downloadSubtitles(page, 'srt');
  assert.deepEqual(srt.body.segments, posted);
  assert.equal(srt.name, 'meeting.srt');
  assert.ok(assertSrt(srt.text).length >= 2);
  assert.equal(srt.text, await apiSubtitles('srt', posted)); // the API's line wrapping, not the page's

  const vtt = await downloadSubtitles(page, 'vtt');
  assert.equal(vtt.body.format, 'vtt');
  assert.equal(vtt.name, 'meeting.vtt');
  assert.match(vtt.text, /^WEBVTT\n\n\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}\n\S/);
});

test('a file that is not audio gets a clear error, also after switching to Russian', async (t) => {
  const page = await open(t, { history: [MEETING] });
  await page.click('#recent button');
  const notAudio = path.join(work, 'notes.txt');
  writeFileSync(notAudio, 'these are my notes, not a recording\n'.repeat(30));
  await page.setInputFiles('#file', notAudio);
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /not audio or video/);
  await page.screenshot({ path: `${SHOTS}/4-error.png`, fullPage: true });

  await page.click('#lang-ru');
  assert.equal(await page.textContent('#start'), 'Распознать');
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.match((await page.textContent('#recent-title'))!, /Недавние/);
  assert.match((await page.textContent('#error'))!, /не удаётся прочитать/); // the same error, now in Russian
  assert.match((await page.textContent('#segments'))!, /garden society/); // the transcript shown before stays
  await page.screenshot({ path: `${SHOTS}/5-russian.png`, fullPage: true });
});

test('a silent file: the page says no speech was found, in English and Russian', async (t) => {
  const noise = entry('noise.bin', [[0, 2, ' '], [2, 4, '']]);
  const page = await open(t, { history: [noise] });
  const silence = path.join(mkdtempSync(path.join(work, 'silence-')), 'silence.wav');
  execFileSync('sox', ['-n', '-r', '16000', '-c', '1', silence, 'trim', '0', '3']);
  await page.setInputFiles('#file', silence);
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await page.waitForSelector('#no-speech:not([hidden]), #error:not([hidden])', { timeout: 120_000 });
  assert.equal(await page.isHidden('#error'), true, await page.textContent('#error') ?? '');
  assert.match((await page.textContent('#no-speech'))!, /No speech was found in this file/);
  assert.equal(await page.isHidden('#segments'), true);
  await page.screenshot({ path: `${SHOTS}/8-no-speech.png`, fullPage: true });
  await page.click('#lang-ru');
  assert.match((await page.textContent('#no-speech'))!, /не найдено речи/);
  await page.click('#lang-en');

  // Segments with only empty text (noise that decodes as audio) read the same way.
  await page.click('#recent li:has-text("noise.bin") button');
  assert.equal(await page.isVisible('#no-speech'), true);
});

test('a long file name wraps inside its Recent card at 1280 px', async (t) => {
  const name = `${'interview_with_the_head_gardener_'.repeat(4).slice(0, 116)}.wav`;
  assert.equal(name.length, 120);
  const page = await open(t, { viewport: { width: 1280, height: 800 }, history: [entry(name, [[0, 3, ' Hello.']])] });
  const layout = await page.evaluate(() => {
    const card = document.querySelector<HTMLElement>('.history')!;
    const label = card.querySelector('#recent .name')!;
    const box = (r: DOMRect) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom });
    return { scrollWidth: card.scrollWidth, clientWidth: card.clientWidth, card: box(card.getBoundingClientRect()), name: box(label.getBoundingClientRect()), lines: label.getClientRects().length };
  });
  assert.ok(layout.scrollWidth <= layout.clientWidth, `the card scrolls: ${layout.scrollWidth} > ${layout.clientWidth}`);
  assert.ok(layout.name.left >= layout.card.left && layout.name.right <= layout.card.right, `name ${JSON.stringify(layout.name)} outside card ${JSON.stringify(layout.card)}`);
  assert.ok(layout.name.top >= layout.card.top && layout.name.bottom <= layout.card.bottom);
  assert.ok(layout.lines > 1, 'the name did not wrap');
  await page.screenshot({ path: `${SHOTS}/7-long-name.png`, fullPage: true });
});

test('the upload area shows an SVG icon', async (t) => {
  const page = await open(t);
  const icon = page.locator('#drop svg');
  assert.equal(await icon.count(), 1);
  assert.equal(await icon.getAttribute('aria-hidden'), 'true');
  const box = await icon.boundingBox();
  assert.ok(box && box.width >= 16 && box.height >= 16, `icon box ${JSON.stringify(box)}`);
  assert.doesNotMatch((await page.textContent('#drop'))!, /⇪/);
  await page.screenshot({ path: `${SHOTS}/1-empty.png`, fullPage: true });
});

test('the language menu holds the API\'s languages, named and sorted in the interface\'s language', async (t) => {
  const { languages } = (await (await fetch(`${services.url}/api/languages`)).json()) as { languages: Array<{ code: string; name: string }> };
  assert.ok(languages.length > 90);
  const page = await open(t);
  const menu = () => page.locator('#language option').evaluateAll((options) => options.map((o) => [(o as HTMLOptionElement).value, o.textContent ?? '']));
  const english = await menu();
  assert.equal(english[0]![0], 'auto');
  assert.deepEqual(english.slice(1).map(([code]) => code).sort(), languages.map((l) => l.code).sort());
  assert.ok(english.some(([code, name]) => code === 'de' && name === 'German'));

  await page.click('#lang-ru');
  const russian = await menu();
  assert.equal(russian.length, languages.length + 1);
  assert.ok(russian.some(([code, name]) => code === 'de' && name === 'Немецкий'));
  const names = russian.slice(1).map(([, name]) => name!);
  assert.deepEqual(names, await page.evaluate((n) => [...n].sort((a, b) => a.localeCompare(b, 'ru')), names));
});

test('phone width in dark mode', async (t) => {
  const page = await open(t, { viewport: { width: 390, height: 844 }, colorScheme: 'dark', history: [entry(`${'x'.repeat(116)}.wav`, [[0, 3, ' Hello.']]), MEETING] });
  await page.click('#recent li:has-text("meeting.mp3") button');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: `${SHOTS}/6-phone-dark.png`, fullPage: true });
});
