// Correcting a transcript against its audio (editor.ts), in a real browser against
// the real gateway and worker: an edit of the LibriVox clip (Dashwood → Dashwoodz),
// undone and redone before it is saved, saved, then in the transcript after a
// reload, in the SRT download and the API's result; a word clicked seeks the
// player; revert to original; and axe-core's checks of the edit mode. Then in Russian at
// a phone's width, on a job made without word timestamps (the page shares each segment's
// span among its words): the word that plays marked, a boundary dragged and one moved by a key,
// a split at a word and a merge, undone, saved and seen after a reload.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { apiResult, assertAccessible, assertSucceeded, downloadResult, getJob, jobInHash, librivox, openPage, overflow, settled, serve, SHOTS, type OpenOptions } from './browser.ts';

serve();


async function open(t: TestContext, options: OpenOptions = {}): Promise<Page> {
  const page = await openPage(t, options);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  return page;
}

/** The editor's texts, as they are on screen. */
const editedTexts = (page: Page) => page.locator('#editor .edit-text').allTextContents();

test('editing a transcript: undo, save, reload, SRT and API show the edit; a word clicked seeks; revert to original', async (t) => {
  const page = await open(t);
  await page.setInputFiles('#file', librivox('edit.wav'));
  await page.selectOption('#model', 'tiny.en');
  await page.click('details summary');
  await page.check('input[name="word_timestamps"]');
  await page.click('#start');
  await assertSucceeded(page);
  const id = await jobInHash(page);

  // Edit mode: the segments editable, their words spans, the toolbar; revisions read (the original: nothing to revert).
  await page.click('#edit-transcript');
  await page.waitForSelector('#editor .edit-text .word');
  assert.equal(await page.isHidden('#segments'), true);
  await page.waitForSelector('#editor [data-action="revertOriginal"][disabled]', { state: 'attached' });
  await assertAccessible(page);
  await page.screenshot({ path: `${SHOTS}/edit-mode.png`, fullPage: true });

  // A word clicked seeks the player to it.
  const word = page.locator('#editor .word').nth(5);
  const at = Number(await word.getAttribute('data-start'));
  await word.click();
  await page.waitForFunction((s) => Math.abs((document.getElementById('audio') as HTMLAudioElement).currentTime - s) < 0.05, at);

  // Dashwood → Dashwoodz, typed in the text; Ctrl+Z takes it back, Ctrl+Shift+Z again.
  const before = await editedTexts(page);
  const index = before.findIndex((text) => /Dashwood\b/.test(text));
  assert.ok(index >= 0, `no segment says Dashwood: ${JSON.stringify(before)}`);
  const text = page.locator('#editor .edit-text').nth(index);
  await text.evaluate((el) => {
    const node = [...el.querySelectorAll('.word')].find((w) => /^Dashwood\b/.test(w.textContent ?? ''))!.firstChild!;
    el.focus();
    window.getSelection()!.collapse(node, 'Dashwood'.length);
  });
  await page.keyboard.type('z');
  assert.match((await editedTexts(page))[index]!, /Dashwoodz/);
  await page.keyboard.press('Control+z');
  assert.deepEqual(await editedTexts(page), before, 'undo: the text as it was');
  await page.keyboard.press('Control+Shift+z');
  assert.match((await editedTexts(page))[index]!, /Dashwoodz/, 'redo: the edit again');
  await page.click('#editor [data-action="saveTranscript"]');

  // Saved: the page shows the revision, and so do the API, the SRT download and a reload.
  await page.waitForSelector('#edit-status:has-text("revision 1")');
  assert.equal(await page.isHidden('#segments'), false);
  assert.match((await page.textContent('#segments'))!, /Dashwoodz/);
  assert.match((await getJob(id)).result!.text, /Dashwoodz/);
  assert.match(await apiResult(id, 'srt'), /Dashwoodz/);
  const srt = await downloadResult(page, 'srt');
  assert.match(srt.text, /Dashwoodz/);
  await page.reload();
  await page.waitForSelector('#segments li');
  assert.match((await page.textContent('#segments'))!, /Dashwoodz/);

  // Revert to original: revision 2 is the original's text.
  await page.click('#edit-transcript');
  await page.waitForSelector('#editor [data-action="revertOriginal"]:not([disabled])');
  page.once('dialog', (dialog) => void dialog.accept());
  await page.click('#editor [data-action="revertOriginal"]');
  await page.waitForSelector('#edit-status:has-text("revision 2")');
  assert.doesNotMatch((await page.textContent('#segments'))!, /Dashwoodz/);
  assert.match((await page.textContent('#segments'))!, /Dashwood/);
  assert.doesNotMatch(await apiResult(id, 'srt'), /Dashwoodz/);
});

test('editing a transcript: a failed save says why, and the edit stays on screen', async (t) => {
  const page = await open(t, { expectErrors: /409|Conflict/ });
  await page.setInputFiles('#file', librivox('edit-conflict.wav'));
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await assertSucceeded(page);
  const id = await jobInHash(page);
  await page.click('#edit-transcript');
  await page.waitForSelector('#editor .edit-text');
  await page.waitForSelector('#editor [data-action="revertOriginal"][disabled]', { state: 'attached' });
  // Another editor saves first: this one's base revision is stale.
  const job = await getJob(id);
  const response = await fetch(new URL(`/api/jobs/${id}/transcript`, page.url()), {
    method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ segments: job.result!.segments.map((s) => ({ start: s.start, end: s.end, text: `${s.text} (other)` })), base_revision: 0 }),
  });
  assert.equal(response.status, 200, await response.text());
  const text = page.locator('#editor .edit-text').first();
  await text.click();
  await page.keyboard.press('End');
  await page.keyboard.type(' mine');
  await page.click('#editor [data-action="saveTranscript"]');
  await page.waitForSelector('#edit-error:not([hidden])');
  assert.match((await page.textContent('#edit-error'))!, /revision 1 now, not 0/);
  assert.match((await text.textContent())!, /mine/);
  await assertAccessible(page);
});

/** The value of segment `index`'s start or end handle, in seconds. */
const edgeAt = async (page: Page, index: number, edge: 'start' | 'end') =>
  Number(await page.locator('#editor .edit-segment').nth(index).locator(`.edit-handle[data-edge="${edge}"]`).getAttribute('aria-valuenow'));
const playerAt = (page: Page) => page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);

test('editing in Russian on a phone: the playing word marked, an edge dragged and moved by a key, split and merge, saved and reloaded', async (t) => {
  const page = await open(t, { locale: 'ru-RU', viewport: { width: 390, height: 844 } });
  await page.setInputFiles('#file', librivox('edit-ru.wav'));
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  assert.equal(await settled(page), 'succeeded');
  const id = await jobInHash(page);
  const original = (await getJob(id)).result!.segments.filter((s) => s.text.trim() !== '');
  assert.ok(original.length >= 2, `a clip of several segments: ${original.length}`);
  assert.ok(!original[0]!.words?.length, 'no word timings asked for');

  await page.click('#edit-transcript');
  await page.waitForSelector('#editor .edit-text .word');
  assert.match((await page.textContent('#edit-help'))!, /перетащите/);
  assert.equal(await page.locator('#editor .edit-handle').first().getAttribute('aria-label'), 'Начало фрагмента 1');
  assert.ok(await overflow(page) <= 0, 'nothing wider than the phone');
  await assertAccessible(page);
  await page.screenshot({ path: `${SHOTS}/edit-ru-390.png`, fullPage: true });

  // The word under the player's time is marked.
  const word = page.locator('#editor .word').nth(3);
  const [from, to] = [Number(await word.getAttribute('data-start')), Number(await word.getAttribute('data-end'))];
  await page.evaluate((s) => ((document.getElementById('audio') as HTMLAudioElement).currentTime = s), (from + to) / 2);
  await page.waitForSelector('#editor .word.playing');
  assert.equal(await word.evaluate((el) => el.classList.contains('playing')), true);

  // Segment 1's end dragged 25 px to the left (50 px a second: half a second earlier); the player goes there.
  const end = await edgeAt(page, 0, 'end');
  const box = (await page.locator('#editor .edit-segment').first().locator('.edit-handle[data-edge="end"]').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 25, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((was) => Number(document.querySelector('#editor .edit-handle[data-edge="end"]')!.getAttribute('aria-valuenow')) !== was, end);
  const dragged = await edgeAt(page, 0, 'end');
  assert.ok(Math.abs(dragged - (end - 0.5)) < 0.05, `dragged from ${end} to ${dragged}`);
  assert.ok(Math.abs((await playerAt(page)) - dragged) < 0.05, 'the player at the new end');
  assert.equal(await page.isEnabled('#editor [data-action="undo"]'), true);

  // Segment 2's start a tenth later by the arrow key (the focus stays on it).
  const start = await edgeAt(page, 1, 'start');
  await page.locator('#editor .edit-segment').nth(1).locator('.edit-handle[data-edge="start"]').focus();
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((was) => Number(document.querySelectorAll('#editor .edit-handle[data-edge="start"]')[1]!.getAttribute('aria-valuenow')) !== was, start);
  assert.ok(Math.abs((await edgeAt(page, 1, 'start')) - (start + 0.1)) < 0.011);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-edge')), 'start');

  // Segment 1 split before its third word (Enter at the caret), then merged back, then the merge undone.
  const count = await page.locator('#editor .edit-segment').count();
  const text = page.locator('#editor .edit-text').first();
  await text.evaluate((el) => {
    const third = el.querySelectorAll('.word')[2]!.firstChild!;
    el.focus();
    window.getSelection()!.collapse(third, 0);
  });
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('#editor .edit-segment').length === n + 1, count);
  await page.click('#editor .edit-segment:first-child button[aria-label^="Объединить"]');
  await page.waitForFunction((n) => document.querySelectorAll('#editor .edit-segment').length === n, count);
  await page.click('#editor [data-action="undo"]');
  await page.waitForFunction((n) => document.querySelectorAll('#editor .edit-segment').length === n + 1, count);
  await assertAccessible(page);
  await page.click('#editor [data-action="saveTranscript"]');
  await page.waitForSelector('#edit-status:has-text("1")');

  // Saved: the split, the dragged end and the moved start are the job's, after a reload too.
  const saved = (await getJob(id)).result!.segments;
  assert.equal(saved.length, count + 1, JSON.stringify(saved.map((s) => [s.start, s.end, s.text])));
  assert.ok(Math.abs(saved[1]!.end - dragged) < 0.011, `the second part ends where the end was dragged: ${saved[1]!.end}`);
  assert.ok(Math.abs(saved[2]!.start - (start + 0.1)) < 0.011);
  await page.reload();
  await page.waitForSelector('#segments li');
  await page.click('#edit-transcript');
  await page.waitForSelector('#editor .edit-segment');
  assert.equal(await page.locator('#editor .edit-segment').count(), count + 1);
  assert.ok(await overflow(page) <= 0);
});
