// The page in a real browser (Debian's chromium), against the real gateway and worker.
// Every test opens its own browser context and makes the jobs it needs (through the
// page or the API), so any one runs alone and in any order; all share one gateway, so
// a test finds its own jobs by id or by a file name no other test uses. Model output
// differs a little between CPUs (int8, temperature fallback): tests check the detected
// language and one clear word, no more.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { CLIP, SHORT_CLIP } from '../../test-support/worker.ts';
import {
  apiJob, apiResult, assertSrt, assertSucceeded, downloadResult, finishedJob, getJob, jobInHash, librivox, noteLive, openPage, serve, services, settled, SHOTS, work,
  type OpenOptions,
} from './browser.ts';

serve(); // no API keys: the service is open, as it is by default

/** openPage, once the model and language menus are filled. */
async function open(t: TestContext, options: OpenOptions = {}): Promise<Page> {
  const page = await openPage(t, options);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  await page.waitForSelector('#language option[value="de"]', { state: 'attached' });
  return page;
}

test('a LibriVox recording becomes a job: segments appear live, then the transcript, the player and an SRT of the job', async (t) => {
  const page = await open(t);
  await page.setInputFiles('#file', librivox('librivox.wav'));
  await page.selectOption('#model', 'base');
  await noteLive(page);
  await page.click('#start');
  await page.waitForSelector('#segments li');
  const id = await jobInHash(page);
  await page.screenshot({ path: `${SHOTS}/2-transcribing.png`, fullPage: true });
  await assertSucceeded(page); // detected: the language menu was left on automatic
  assert.equal(await page.getAttribute('body', 'data-live'), 'yes', 'segments appeared only after the transcription ended');
  await page.waitForSelector(`#recent button[data-id="${id}"][aria-current="true"]:has-text("librivox.wav")`);
  await page.screenshot({ path: `${SHOTS}/3-result.png`, fullPage: true });

  // The tab still has the file it uploaded: the player works.
  const last = page.locator('#segments li').last();
  const start = Number(await last.getAttribute('data-start'));
  await last.locator('button').click();
  await page.waitForFunction((s) => Math.abs((document.getElementById('audio') as HTMLAudioElement).currentTime - s) < 1, start);

  const srt = await downloadResult(page, 'srt');
  assert.equal(srt.url.pathname, `/api/jobs/${id}/result`);
  assert.equal(srt.url.searchParams.get('format'), 'srt');
  assert.equal(srt.name, 'librivox.srt');
  assert.ok(assertSrt(srt.text).length >= (await page.locator('#segments li').count())); // a long segment wraps into several cues
  assert.equal(srt.text, await apiResult(id, 'srt'));
  assert.match(srt.text.toLowerCase(), /dashwood/);
});

/** Notes in <body data-seen> each status the result card showed, and data-live="yes" once segments were on screen while it ran. */
function noteStatuses(): void {
  addEventListener('DOMContentLoaded', () => {
    const card = document.getElementById('result')!;
    const note = () => {
      const seen = new Set((document.body.dataset.seen ?? '').split(',').filter(Boolean));
      if (card.dataset.status) seen.add(card.dataset.status);
      document.body.dataset.seen = [...seen].join(',');
      if (card.dataset.status === 'running' && document.querySelector('#segments li')) document.body.dataset.live = 'yes';
    };
    new MutationObserver(note).observe(card, { attributes: true, attributeFilter: ['data-status'] });
    new MutationObserver(note).observe(document.getElementById('segments')!, { childList: true });
  });
}

test('a job\'s link opened in another browser, or after closing the tab, shows its progress and transcript, and plays the server\'s copy of its audio', async (t) => {
  const page = await open(t, { permissions: ['clipboard-read', 'clipboard-write'] });
  await page.setInputFiles('#file', librivox('other-device.wav', 6));
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await page.waitForSelector('#segments li');
  const id = await jobInHash(page);
  await page.click('#copy-link');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${services.url}/#/jobs/${id}`);
  await page.waitForSelector('#copy-link:has-text("Link copied")');

  const other = await open(t, { at: `/#/jobs/${id}`, init: noteStatuses }); // another context: no upload, no shared storage
  await assertSucceeded(other);
  const seen = (await other.getAttribute('body', 'data-seen'))!;
  t.diagnostic(`the other browser saw the job ${seen}`);
  // Whether it still ran when the link was opened depends on the machine's speed; when it did, it was followed live.
  if (seen.startsWith('running')) assert.equal(await other.getAttribute('body', 'data-live'), 'yes', 'no segments while it ran');
  assert.equal(await other.textContent('#job-name'), 'other-device.wav');
  // KEEP_AUDIO (the default): the server keeps a succeeded job's audio, and any browser plays it.
  await other.waitForSelector('#audio:not([hidden])');
  assert.equal(await other.getAttribute('#audio', 'src'), `/api/jobs/${id}/audio`);
  assert.equal(await other.isHidden('#video'), true);
  await other.waitForSelector(`#recent button[data-id="${id}"][aria-current="true"]`);
  await other.screenshot({ path: `${SHOTS}/9-other-device.png`, fullPage: true });

  await page.reload(); // the tab closed and opened again: the job from its link; the tab's file is gone, the server's copy plays
  await assertSucceeded(page);
  await page.waitForSelector('#audio:not([hidden])');
  assert.equal(await page.getAttribute('#audio', 'src'), `/api/jobs/${id}/audio`);
});

test('Recent lists the server\'s jobs, also those a program submitted; clicking one shows its transcript', async (t) => {
  const name = `api-${crypto.randomUUID().slice(0, 8)}.wav`;
  const job = await apiJob(CLIP, name);
  await finishedJob(job.id);
  const page = await open(t);
  const item = page.locator(`#recent button:has-text("${name}")`);
  await item.waitFor();
  assert.match((await item.textContent())!, /0:07/); // its length
  await item.click();
  await page.waitForFunction((id) => location.hash === `#/jobs/${id}`, job.id);
  await assertSucceeded(page);
  assert.equal(await page.getAttribute(`#recent button[data-id="${job.id}"]`, 'aria-current'), 'true');
  await page.waitForSelector('#audio:not([hidden])'); // the server keeps its audio (KEEP_AUDIO): it plays
  assert.equal(await page.getAttribute('#audio', 'src'), `/api/jobs/${job.id}/audio`);
  await page.screenshot({ path: `${SHOTS}/10-recent.png`, fullPage: true });
});

test('a job reopened from Recent downloads SRT, VTT, TXT and JSON from the job\'s result', async (t) => {
  const name = `meeting-${crypto.randomUUID().slice(0, 8)}.wav`;
  const job = await apiJob(CLIP, name, { model: 'tiny.en', word_timestamps: 'true' });
  await finishedJob(job.id);
  const page = await open(t);
  await page.click(`#recent button[data-id="${job.id}"]`);
  await assertSucceeded(page);
  const base = name.replace(/\.wav$/, '');
  for (const [kind, format] of [['srt', 'srt'], ['vtt', 'vtt'], ['txt', 'text'], ['json', 'json']] as const) {
    const saved = await downloadResult(page, kind);
    assert.equal(saved.url.pathname, `/api/jobs/${job.id}/result`);
    assert.equal(saved.url.searchParams.get('format'), format);
    assert.equal(saved.name, `${base}.${kind}`);
    assert.equal(saved.text, await apiResult(job.id, format)); // the API's rendering, not the page's
    assert.match(saved.text.toLowerCase(), /dashwood/);
  }
  assertSrt(await apiResult(job.id, 'srt'));
  assert.match(await apiResult(job.id, 'vtt'), /^WEBVTT\n\n\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}\n\S/);
});

test('an unknown job link says the job does not exist, in English and Russian', async (t) => {
  const page = await open(t, { at: `/#/jobs/${crypto.randomUUID()}`, expectErrors: /status of 404/ });
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /This job does not exist \(or was deleted\)/);
  assert.equal(await page.isHidden('#result'), true);
  await page.screenshot({ path: `${SHOTS}/11-no-such-job.png`, fullPage: true });
  await page.click('#lang-ru');
  assert.match((await page.textContent('#error'))!, /Такого задания нет \(или оно было удалено\)/);
});

test('Cancel on a running job stops it: the page, Recent and the API say cancelled; a job waiting behind it says so, then runs', async (t) => {
  const page = await open(t);
  // 12 minutes, decoded 8 windows (4 minutes) a batch: the first segments arrive with most of it still to run.
  await page.setInputFiles('#file', librivox('long-talk.wav', 30));
  await page.selectOption('#model', 'base');
  await page.click('#start');
  await page.waitForSelector('#segments li', { timeout: 120_000 });
  const id = await jobInHash(page);
  await page.waitForSelector(`#recent button[data-id="${id}"][data-status="running"]:has-text("Transcribing")`);
  assert.equal(await page.getAttribute('#result', 'data-status'), 'running');
  // A job behind it waits, and says so, then runs once the long one is cancelled.
  const next = await apiJob(CLIP, `next-${crypto.randomUUID().slice(0, 8)}.wav`);
  const waiting = await open(t, { at: `/#/jobs/${next.id}` });
  await waiting.waitForSelector('#result[data-status="queued"]');
  assert.match((await waiting.textContent('#stage'))!, /Waiting for a worker · #1 in line/);
  assert.match((await waiting.textContent('#facts'))!, /Queued/);
  await waiting.screenshot({ path: `${SHOTS}/13-queued.png`, fullPage: true });
  await page.click('#cancel');
  assert.equal(await settled(page, 60_000), 'cancelled');
  assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
  assert.match((await page.textContent('#job-cancelled'))!, /This job was cancelled/);
  assert.match((await page.textContent('#facts'))!, /Cancelled/);
  assert.equal(await page.isHidden('#progress'), true);
  await page.waitForSelector(`#recent button[data-id="${id}"][data-status="cancelled"]:has-text("Cancelled")`);
  assert.equal((await getJob(id)).status, 'cancelled');
  await page.screenshot({ path: `${SHOTS}/12-cancelled.png`, fullPage: true });
  await assertSucceeded(waiting);
  await page.click('#lang-ru');
  assert.match((await page.textContent('#job-cancelled'))!, /Это задание отменено/);
  assert.match((await page.textContent(`#recent button[data-id="${id}"]`))!, /Отменено/);
});

test('a file that is not audio gets a clear error, also after switching to Russian and reloading its link', async (t) => {
  const page = await open(t);
  const notAudio = path.join(work, 'notes.txt');
  writeFileSync(notAudio, 'these are my notes, not a recording\n'.repeat(30));
  await page.setInputFiles('#file', notAudio);
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  assert.equal(await settled(page, 60_000), 'failed');
  assert.match((await page.textContent('#error'))!, /not audio or video/);
  const id = await jobInHash(page);
  await page.waitForSelector(`#recent button[data-id="${id}"]:has-text("Failed")`);
  await page.screenshot({ path: `${SHOTS}/4-error.png`, fullPage: true });

  await page.click('#lang-ru');
  assert.equal(await page.textContent('#start'), 'Распознать');
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.match((await page.textContent('#recent-title'))!, /Недавние/);
  assert.match((await page.textContent('#error'))!, /не удаётся прочитать/); // the same error, now in Russian
  assert.match((await page.textContent(`#recent button[data-id="${id}"]`))!, /Ошибка/);
  await page.screenshot({ path: `${SHOTS}/5-russian.png`, fullPage: true });

  await page.reload(); // the job's link: the error comes back from the server
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /не удаётся прочитать/);
});

test('a silent file: the page says no speech was found, in English and Russian, also when reopened', async (t) => {
  const page = await open(t);
  const silence = path.join(mkdtempSync(path.join(work, 'silence-')), 'silence.wav');
  execFileSync('sox', ['-n', '-r', '16000', '-c', '1', silence, 'trim', '0', '3']);
  await page.setInputFiles('#file', silence);
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  assert.equal(await settled(page, 120_000), 'succeeded', (await page.textContent('#error')) ?? '');
  assert.match((await page.textContent('#no-speech'))!, /No speech was found in this file/);
  assert.equal(await page.isHidden('#segments'), true);
  assert.equal(await page.isHidden('#actions'), true);
  await page.screenshot({ path: `${SHOTS}/8-no-speech.png`, fullPage: true });
  await page.click('#lang-ru');
  assert.match((await page.textContent('#no-speech'))!, /не найдено речи/);

  const again = await open(t, { at: `/#/jobs/${await jobInHash(page)}` });
  await again.waitForSelector('#no-speech:not([hidden])');
});

test('a long file name wraps inside its Recent card at 1280 px', async (t) => {
  const name = `${'interview_with_the_head_gardener_'.repeat(4).slice(0, 116)}.wav`;
  assert.equal(name.length, 120);
  const job = await apiJob(SHORT_CLIP, name);
  const page = await open(t, { viewport: { width: 1280, height: 800 } });
  await page.waitForSelector(`#recent button[data-id="${job.id}"]`);
  const layout = await page.evaluate((id) => {
    const card = document.querySelector<HTMLElement>('.history')!;
    const label = card.querySelector(`#recent button[data-id="${id}"] .name`)!;
    const box = (r: DOMRect) => ({ left: r.left, right: r.right, top: r.top, bottom: r.bottom });
    return { scrollWidth: card.scrollWidth, clientWidth: card.clientWidth, card: box(card.getBoundingClientRect()), name: box(label.getBoundingClientRect()), lines: label.getClientRects().length };
  }, job.id);
  assert.ok(layout.scrollWidth <= layout.clientWidth, `the card scrolls: ${layout.scrollWidth} > ${layout.clientWidth}`);
  assert.ok(layout.name.left >= layout.card.left && layout.name.right <= layout.card.right, `name ${JSON.stringify(layout.name)} outside card ${JSON.stringify(layout.card)}`);
  assert.ok(layout.name.top >= layout.card.top && layout.name.bottom <= layout.card.bottom);
  assert.ok(layout.lines > 1, 'the name did not wrap');
  await page.screenshot({ path: `${SHOTS}/7-long-name.png`, fullPage: true });
});

test('a server without API keys asks for none: no prompt, no Sign out, no key sent', async (t) => {
  const page = await openPage(t);
  const headers: Array<Promise<[string, string | undefined]>> = [];
  page.on('request', (r) => headers.push(r.allHeaders().then((h) => [r.url(), h.authorization])));
  await page.reload(); // the first requests too, now that they are watched
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  await page.waitForSelector('#recent li');
  assert.equal(await page.isVisible('#key-dialog'), false);
  assert.equal(await page.isHidden('#sign-out'), true);
  const sent = await Promise.all(headers);
  assert.ok(sent.some(([url]) => url.endsWith('/api/models')), 'the watch saw no call');
  assert.deepEqual(sent.filter(([, key]) => key !== undefined), [], 'requests carried a key');
  assert.equal(await page.evaluate(() => localStorage.getItem('whisper.apiKey')), null);
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
  const long = await apiJob(SHORT_CLIP, `${'x'.repeat(116)}.wav`);
  const job = await apiJob(CLIP, 'phone.wav');
  await finishedJob(job.id);
  const page = await open(t, { viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  await page.waitForSelector(`#recent button[data-id="${long.id}"]`);
  await page.click(`#recent button[data-id="${job.id}"]`);
  await assertSucceeded(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: `${SHOTS}/6-phone-dark.png`, fullPage: true });
});

test('Advanced: the VAD\'s knobs are off with the VAD, and every knob set reaches the job', async (t) => {
  // What the page's upload sends: its form's text fields (the XHR body is a stream Chromium does not show).
  const page = await open(t, {
    init: () => {
      const send = XMLHttpRequest.prototype.send;
      XMLHttpRequest.prototype.send = function (body) {
        if (body instanceof FormData) (window as unknown as { sent: unknown }).sent = Object.fromEntries([...body.entries()].filter(([, v]) => typeof v === 'string'));
        return send.call(this, body);
      };
    },
  });
  await page.click('details summary');
  assert.equal(await page.isChecked('input[name="vad_filter"]'), true, 'the worker\'s default: on');
  assert.equal(await page.isChecked('input[name="condition_on_previous_text"]'), true, 'faster-whisper\'s default: on');
  await page.uncheck('input[name="vad_filter"]');
  assert.equal(await page.isDisabled('input[name="vad_threshold"]'), true);
  await page.check('input[name="vad_filter"]');
  await page.fill('input[name="vad_threshold"]', '0.4');
  await page.fill('input[name="hotwords"]', 'Dashwood');
  await page.uncheck('input[name="condition_on_previous_text"]');
  assert.equal(await page.getAttribute('input[name="vad_threshold"]', 'max'), '1', 'bounds from the gateway\'s schema');
  await page.setInputFiles('#file', librivox('knobs.wav'));
  await page.selectOption('#model', 'base');
  await page.click('#start');
  await assertSucceeded(page); // the gateway took every field: it refuses what it does not know
  const sent = (await page.evaluate(() => (window as unknown as { sent: Record<string, string> }).sent));
  assert.equal(sent.vad_threshold, '0.4');
  assert.equal(sent.hotwords, 'Dashwood');
  assert.equal(sent.condition_on_previous_text, 'false');
  assert.equal(sent.vad_filter, 'true');
  assert.equal('min_silence_duration_ms' in sent, false, 'an empty box is no choice: not sent');
});
