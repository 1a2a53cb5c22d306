// Many files at once, a video with its captions, and the layout with a long Recent, in a real browser against
// the real gateway and worker (one worker slot: jobs run one after another, so a queue's order is known).
// The file's own gateway: its Recent holds only the jobs these tests make.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { CLIP, ROOT, SHORT_CLIP } from '../../test-support/worker.ts';
import { waitFor } from '../../test-support/wait.ts';
import { apiJob, assertAccessible, assertSucceeded, finishedJob, getJob, librivox, openPage, overflow, serve, SHOTS, work, type OpenOptions } from './browser.ts';

serve({}, { browserArgs: ['--autoplay-policy=no-user-gesture-required'] });

const unique = (stem: string) => `${stem}-${crypto.randomUUID().slice(0, 8)}`;

async function open(t: TestContext, options: OpenOptions = {}): Promise<Page> {
  const page = await openPage(t, options);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  await page.waitForSelector('#language option[value="de"]', { state: 'attached' });
  return page;
}

/** `file` under the name `name`, in a folder of its own (the page sees the file's base name). */
function named(file: string, name: string): string {
  const copy = path.join(mkdtempSync(path.join(work, 'named-')), name);
  copyFileSync(file, copy);
  return copy;
}

/** A WebM (VP8 on black, Opus) of `clip`'s sound, made with PyAV, which the worker's venv has (there is no ffmpeg CLI). */
function video(clip: string, name: string): string {
  const out = path.join(mkdtempSync(path.join(work, 'video-')), name);
  const script = `
import sys, av, numpy as np
src, out = sys.argv[1], sys.argv[2]
with av.open(src) as inp, av.open(out, 'w', format='webm') as o:
    v = o.add_stream('libvpx', rate=10)
    v.width, v.height, v.pix_fmt = 320, 240, 'yuv420p'
    a = o.add_stream('libopus', rate=48000)
    a.layout = 'mono'
    seconds = 0.0
    for frame in inp.decode(audio=0):
        seconds += frame.samples / frame.sample_rate
        frame.pts = None
        for p in a.encode(frame): o.mux(p)
    for p in a.encode(None): o.mux(p)
    black = np.zeros((240, 320, 3), np.uint8)
    for i in range(int(seconds * 10) + 1):
        f = av.VideoFrame.from_ndarray(black, format='rgb24')
        f.pts = i
        for p in v.encode(f): o.mux(p)
    for p in v.encode(None): o.mux(p)
`;
  execFileSync(path.join(ROOT, '.venv/bin/python'), ['-c', script, clip, out]);
  return out;
}


/** The queue's line for the file `name`. */
const line = (page: Page, name: string) => page.locator('#queue-list li', { has: page.locator(`.queue-name:text-is("${name}")`) });

test('with 20+ jobs in Recent the result sits right under the form at every width, Recent scrolls on its own, nothing overflows', async (t) => {
  const jobs = await Promise.all(Array.from({ length: 22 }, (_, i) => apiJob(SHORT_CLIP, `${unique('many')}-${i}.wav`)));
  for (const job of jobs) await finishedJob(job.id);
  const shown = await apiJob(CLIP, `${unique('layout')}.wav`);
  await finishedJob(shown.id);
  const page = await open(t, { at: `/#/jobs/${shown.id}`, viewport: { width: 1280, height: 800 } });
  await assertSucceeded(page);
  await page.waitForFunction(() => document.querySelectorAll('#recent li').length >= 20);
  for (const width of [360, 390, 800, 1280, 1920]) {
    await page.setViewportSize({ width, height: 800 });
    const m = await page.evaluate(() => {
      const form = document.querySelector<HTMLElement>('.layout > .card')!.getBoundingClientRect();
      const result = document.getElementById('result')!.getBoundingClientRect();
      const history = document.querySelector<HTMLElement>('.history')!;
      return {
        gap: result.top - form.bottom,
        beside: Math.round(result.left) === Math.round(form.left) && result.top > form.top,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        historyBox: history.getBoundingClientRect().toJSON(),
        historyScrolls: history.scrollHeight > history.clientHeight,
        historyOverflowY: getComputedStyle(history).overflowY,
      };
    });
    t.diagnostic(`${width}px: gap ${m.gap}px, Recent ${Math.round(m.historyBox.height)}px high${m.historyScrolls ? ', scrolls' : ''}`);
    assert.ok(m.beside, `${width}px: the result is not under the form`);
    assert.ok(m.gap >= 0 && m.gap < 48, `${width}px: ${m.gap}px between the form and the result`);
    assert.ok(m.overflow <= 0, `${width}px: the page is ${m.overflow}px wider than the window`);
    if (width > 820) {
      // Beside the form: at most a screen high, scrolling on its own.
      assert.ok(m.historyBox.height <= 800, `${width}px: Recent is ${m.historyBox.height}px high`);
      assert.equal(m.historyOverflowY, 'auto');
      assert.ok(m.historyScrolls, `${width}px: 20+ jobs and Recent does not scroll`);
    }
    await page.screenshot({ path: `${SHOTS}/20-layout-${width}.png` });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  await assertAccessible(page);
});

/** Drops `files` on the form's drop zone as a person would: one drop of all of them, each a File of the file's bytes. */
async function dropFiles(page: Page, files: string[]): Promise<void> {
  const dropped = files.map((file) => ({ name: path.basename(file), bytes: readFileSync(file).toString('base64') }));
  await page.evaluate((list) => {
    const transfer = new DataTransfer();
    for (const { name, bytes } of list) transfer.items.add(new File([Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0))], name, { type: 'audio/wav' }));
    const zone = document.getElementById('drop')!;
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, dropped);
}

test('three files dropped at once become three jobs in the queue: the first opens while the others still wait or run, all end succeeded and each opens', async (t) => {
  const page = await open(t, { viewport: { width: 1280, height: 800 } });
  const names = [`${unique('first')}.wav`, `${unique('second')}.wav`, `${unique('third')}.wav`];
  // The first is short; the two behind it (one worker slot) take 50 s of audio each, so they still wait or run when it ends.
  await dropFiles(page, [named(CLIP, names[0]!), librivox(names[1]!, 2), librivox(names[2]!, 2)]);
  assert.match((await page.textContent('#file-name'))!, /^3 files: /);
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await page.waitForSelector('#queue:not([hidden])');
  assert.equal(await page.locator('#queue-list li').count(), 3);
  assert.equal(await page.isHidden('#result'), true, 'several files: no single job is shown until one is opened');

  await line(page, names[0]!).and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 120_000 });
  const states = await page.locator('#queue-list li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.status));
  t.diagnostic(`when the first ended: ${states.join(', ')}`);
  assert.ok(['waiting', 'uploading', 'queued', 'running'].includes(states[2]!), `the third had already ${states[2]}`);
  await line(page, names[0]!).locator('.queue-name').click();
  await assertSucceeded(page);
  assert.equal(await page.textContent('#job-name'), names[0]);
  assert.equal(await page.isVisible('#audio'), true, 'this tab uploaded it: it plays');
  const behind = await line(page, names[2]!).getAttribute('data-status');
  t.diagnostic(`the third while the first was open: ${behind}`);
  assert.ok(['queued', 'running'].includes(behind!), `the third had already ${behind}`);
  await page.screenshot({ path: `${SHOTS}/21-queue-first-open.png`, fullPage: true });
  await assertAccessible(page);

  for (const name of names) await line(page, name).and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 300_000 });
  for (const name of names) {
    const id = (await line(page, name).getAttribute('data-id'))!;
    assert.equal((await getJob(id)).status, 'succeeded');
    assert.match((await line(page, name).textContent())!, /Done/);
    assert.equal(await line(page, name).locator('.queue-cancel').isHidden(), true);
    await line(page, name).locator('.queue-name').click();
    await page.waitForFunction((i) => location.hash === `#/jobs/${i}`, id);
    await page.waitForFunction((n) => document.getElementById('job-name')!.textContent === n, name);
    await assertSucceeded(page);
  }
  await page.click('#lang-ru');
  assert.match((await line(page, names[0]!).textContent())!, /Готово/);
  assert.match((await page.textContent('#queue-title'))!, /Файлы/);
  assert.match((await page.textContent('#file-name'))!, /^Файлов: 3: /);
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok((await overflow(page)) <= 0, 'the queue overflows a phone');
  await page.screenshot({ path: `${SHOTS}/22-queue-phone.png`, fullPage: true });
});

test('several files dropped at once are all taken: the form names how many, in English and Russian', async (t) => {
  const page = await open(t);
  await page.evaluate(() => {
    const files = new DataTransfer();
    for (const name of ['one.wav', 'two.wav']) files.items.add(new File([new Uint8Array(8)], name, { type: 'audio/wav' }));
    document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: files, bubbles: true, cancelable: true }));
  });
  assert.equal(await page.textContent('#file-name'), '2 files: one.wav, two.wav');
  assert.equal(await page.isEnabled('#start'), true);
  await page.click('#lang-ru');
  assert.equal(await page.textContent('#file-name'), 'Файлов: 2: one.wav, two.wav');
});

test('each file of the queue can be cancelled: the one running and the one waiting behind it', async (t) => {
  const page = await open(t, { viewport: { width: 390, height: 844 } });
  const names = [`${unique('long-a')}.wav`, `${unique('long-b')}.wav`];
  await page.setInputFiles('#file', [librivox(names[0]!, 12), librivox(names[1]!, 12)]);
  await page.selectOption('#model', 'base');
  await page.click('#start');
  await line(page, names[0]!).and(page.locator('[data-status="running"]')).waitFor({ timeout: 120_000 });
  await line(page, names[1]!).and(page.locator('[data-status="queued"]')).waitFor({ timeout: 60_000 });
  assert.match((await line(page, names[1]!).textContent())!, /Queued · #1 in line/);
  assert.ok((await overflow(page)) <= 0, 'the queue overflows a phone');
  await page.screenshot({ path: `${SHOTS}/23-queue-cancel.png`, fullPage: true });
  await assertAccessible(page);
  for (const name of [names[1]!, names[0]!]) {
    await line(page, name).locator('.queue-cancel').click();
    await line(page, name).and(page.locator('[data-status="cancelled"]')).waitFor({ timeout: 60_000 });
    assert.match((await line(page, name).textContent())!, /Cancelled/);
    const id = (await line(page, name).getAttribute('data-id'))!;
    assert.equal((await getJob(id)).status, 'cancelled');
  }
});

test('a video file plays in a <video> with its captions: the job\'s WebVTT, with the words said', async (t) => {
  const page = await open(t);
  const name = `${unique('clip')}.webm`;
  await page.setInputFiles('#file', video(CLIP, name));
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await assertSucceeded(page);
  assert.equal(await page.isVisible('#video'), true);
  assert.equal(await page.isHidden('#audio'), true);
  await page.waitForSelector('#video track[kind="captions"]', { state: 'attached' });
  const src = (await page.getAttribute('#video track', 'src'))!;
  assert.match(src, /^blob:/, 'a <track> sends no key: the page fetches the VTT and gives it a blob: URL');
  const cues = await waitFor('the captions\' cues', () =>
    page.evaluate(() => {
      const video = document.getElementById('video') as HTMLVideoElement;
      const track = video.textTracks[0];
      return track?.cues?.length ? { mode: track.mode, kind: track.kind, text: [...track.cues].map((c) => (c as VTTCue).text).join(' ') } : null;
    }), 20_000, 100);
  assert.equal(cues.kind, 'captions');
  assert.equal(cues.mode, 'showing');
  assert.match(cues.text.toLowerCase(), /dashwood/);
  const played = await page.evaluate(async () => {
    const video = document.getElementById('video') as HTMLVideoElement;
    video.muted = true;
    await video.play();
    await new Promise((r) => setTimeout(r, 1000));
    video.pause();
    return { time: video.currentTime, width: video.videoWidth, height: video.videoHeight };
  });
  assert.ok(played.time > 0, 'the video did not play');
  assert.deepEqual([played.width, played.height], [320, 240]);
  await page.screenshot({ path: `${SHOTS}/24-video-captions.png`, fullPage: true });
  await assertAccessible(page);
});
