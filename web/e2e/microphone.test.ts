// The microphone in a real browser: Chromium's fake capture plays a LibriVox
// clip ("and mister John Dashwood had then leisure to consider …", 7 s, then a
// pause) in a loop, as if someone read it aloud. Record makes a file of it that
// is transcribed like an upload; Live streams it over the realtime socket,
// shows captions while it plays, and at Stop the job the server kept. Model
// output is checked for any one of a few clear words of the clip.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { CLIP } from '../../test-support/worker.ts';
import { apiResult, downloadResult, fakeMicrophone, jobInHash, openPage, serve, settled, SHOTS, type OpenOptions } from './browser.ts';

serve({}, { browserArgs: fakeMicrophone(CLIP) });

const WORDS = /dashwood|leisure|consider/i;
const RECORD_MS = 9000; // the clip once through, and its pause

/** openPage, once the model and language menus are filled. */
async function open(t: TestContext, options: OpenOptions = {}): Promise<Page> {
  const page = await openPage(t, options);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  await page.waitForSelector('#language option[value="en"]', { state: 'attached' });
  return page;
}

const text = async (page: Page, selector: string) => (await page.textContent(selector)) ?? '';

test('Record takes the microphone as a file, transcribed like an upload', async (t) => {
  const page = await open(t);
  await page.click('#record');
  await page.waitForSelector('#record.on');
  assert.equal(await page.isDisabled('#live'), true, 'Live stays off while the microphone records');
  await new Promise((resolve) => setTimeout(resolve, RECORD_MS)); // the length of what is said, not a wait for a result
  await page.click('#record');
  await page.waitForSelector('#record:not(.on)');
  assert.match(await text(page, '#file-name'), /^recording-[\d-]+\.(webm|ogg)$/);
  assert.equal(await page.isDisabled('#live'), false);
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  assert.equal(await settled(page, 120_000), 'succeeded', await text(page, '#error'));
  assert.match(await text(page, '#segments'), WORDS);
  assert.equal(await page.isHidden('#audio'), false, 'the recording plays in the tab that made it');
  await page.screenshot({ path: `${SHOTS}/22-recorded.png`, fullPage: true });
});

test('Live captions appear while the microphone plays, lighter while tentative; Stop shows the job the server kept, listed and downloadable', async (t) => {
  const page = await open(t);
  const sent: string[] = [];
  const received: string[] = [];
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => typeof payload === 'string' && sent.push(payload));
    socket.on('framereceived', ({ payload }) => typeof payload === 'string' && received.push(payload));
  });
  await page.selectOption('#model', 'tiny.en');
  await page.selectOption('#language', 'en');
  await page.click('#live');
  await page.waitForSelector('#live.on', { timeout: 30_000 });
  assert.equal(await page.isDisabled('#record'), true, 'Record stays off while Live has the microphone');
  assert.equal(await page.isHidden('#error'), true, await text(page, '#error'));

  // While it listens (the button still says Stop): a clear word, and an utterance made final by its pause.
  await page.waitForFunction((words) => new RegExp(words, 'i').test(document.getElementById('captions')!.textContent ?? ''), WORDS.source, { timeout: 120_000 });
  await page.waitForSelector('#captions p.final', { timeout: 120_000 });
  assert.equal(await text(page, '#live-label'), 'Stop live captions');
  assert.equal(await page.isHidden('#error'), true, await text(page, '#error'));
  const colours = await page.evaluate(() => {
    const p = document.querySelector('#captions p')!;
    return [getComputedStyle(p.querySelector('.confirmed')!).color, getComputedStyle(p.querySelector('.pending')!).color];
  });
  assert.notEqual(colours[0], colours[1], 'the tentative words look the same as the confirmed ones');
  await page.screenshot({ path: `${SHOTS}/20-live.png`, fullPage: true });

  await page.click('#live');
  await page.waitForFunction(() => location.hash.startsWith('#/jobs/'), null, { timeout: 60_000 });
  const id = await jobInHash(page);
  assert.equal(await settled(page, 60_000), 'succeeded', await text(page, '#error'));
  assert.ok((await text(page, '#segments')).trim(), 'the kept transcript is empty');
  assert.equal(await page.isHidden('#live-panel'), true);
  assert.equal(await page.isDisabled('#record'), false);
  await page.waitForSelector(`#recent button[data-id="${id}"][aria-current="true"]`);
  const txt = await downloadResult(page, 'txt');
  assert.equal(txt.url.pathname, `/api/jobs/${id}/result`);
  assert.ok(txt.text.trim(), 'the downloaded transcript is empty');
  assert.equal(txt.text, await apiResult(id, 'text'));
  await page.screenshot({ path: `${SHOTS}/21-live-job.png`, fullPage: true });

  // What went over the socket: the menus' choices, 100 ms of 24 kHz PCM16 an append, a commit at Stop; no error back.
  const parse = (frame: string) => JSON.parse(frame) as { type: string; [field: string]: any };
  // An empty commit is no error of the session: Stop may come in the clip's pause, after the utterance ended.
  const errors = received.map(parse).filter((e) => e.type === 'error' && e.error?.code !== 'input_audio_buffer_commit_empty');
  assert.deepEqual(errors.map((e) => e.error), []);
  const events = sent.map(parse);
  const update = events.find((e) => e.type === 'session.update');
  assert.deepEqual(update?.session.audio.input.format, { type: 'audio/pcm', rate: 24000 });
  assert.equal(update?.session.audio.input.transcription.model, 'tiny.en');
  assert.equal(update?.session.audio.input.transcription.language, 'en');
  const appends = events.filter((e) => e.type === 'input_audio_buffer.append');
  assert.ok(appends.length >= 20, `${appends.length} appends`);
  assert.deepEqual(new Set(appends.slice(0, -1).map((e) => Buffer.from(e.audio, 'base64').length)), new Set([4800]));
  assert.equal(events.at(-1)?.type, 'input_audio_buffer.commit');
});

test('a microphone the page may not use: Record and Live say so, in English and Russian, and leave nothing half started', async (t) => {
  const refuse = () => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  };
  const page = await open(t, { init: refuse });
  await page.click('#live');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await text(page, '#error'), /may not use the microphone/);
  assert.equal(await page.isHidden('#live-panel'), true);
  assert.equal(await page.isDisabled('#record'), false);
  assert.equal(await text(page, '#live-label'), 'Live captions');
  await page.click('#lang-ru');
  assert.match(await text(page, '#error'), /не разрешено использовать микрофон/);
  assert.equal(await text(page, '#live-label'), 'Живые субтитры');
  await page.click('#lang-en');
  await page.reload();
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  assert.equal(await page.isHidden('#error'), true);
  await page.click('#record');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await text(page, '#error'), /may not use the microphone/);
  assert.equal(await page.isDisabled('#live'), false);
  assert.equal(await page.getAttribute('#record', 'class'), 'secondary');
});
