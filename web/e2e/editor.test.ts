// Correcting a transcript against its audio (editor.ts), in a real browser against
// the real gateway and worker: an edit of the LibriVox clip (Dashwood → Dashwoodz),
// undone and redone before it is saved, saved, then in the transcript after a
// reload, in the SRT download and the API's result; a word clicked seeks the
// player; revert to original; and axe-core's checks of the edit mode.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { apiResult, assertAccessible, assertSucceeded, downloadResult, getJob, jobInHash, librivox, openPage, overflow, serve, SHOTS, type OpenOptions } from './browser.ts';

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
