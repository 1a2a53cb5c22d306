// Recent as a workspace, in a real browser against the real gateway and worker: the search of every
// transcript (a hit opens its job at the matching line), the filters, "Load more", and deleting jobs.
// The file's own gateway: its Recent holds only the jobs these tests make.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { Job } from '../src/jobs.ts';
import { SHORT_CLIP } from '../../test-support/worker.ts';
import { apiJob, assertAccessible, assertSucceeded, finishedJob, librivox, openPage, overflow, serve, services, SHOTS, type OpenOptions } from './browser.ts';

serve();

const tag = () => crypto.randomUUID().slice(0, 8);

async function open(t: TestContext, options: OpenOptions = {}): Promise<Page> {
  const page = await openPage(t, options);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  await page.waitForSelector('#filter-model option[value="tiny.en"]', { state: 'attached' });
  return page;
}

const status = async (id: string) => (await fetch(`${services.url}/api/jobs/${id}`)).status;
/** The Recent line of job `id`. */
const line = (page: Page, id: string) => page.locator('#recent > li', { has: page.locator(`button.open[data-id="${id}"]`) });

test('a search finds a word of a transcript (not of the file name): the hit shows the line with the word marked, and opens the job there, the player at the line', async (t) => {
  const page = await open(t, { viewport: { width: 390, height: 844 } });
  const name = `reading-${tag()}.wav`;
  await page.setInputFiles('#file', librivox(name, 2)); // "Dashwood" twice, at 0 s and 25 s
  await page.selectOption('#model', 'tiny.en');
  await page.click('#start');
  await assertSucceeded(page);
  const id = (await page.evaluate(() => location.hash)).split('/').pop()!;
  await page.evaluate(() => (location.hash = '')); // nothing on screen: the hit opens the job
  await page.waitForSelector('#result', { state: 'hidden' });

  await page.fill('#search', 'dashwood');
  const hit = line(page, id).locator('button.hit').last(); // the later one: a seek there shows
  await hit.waitFor();
  assert.doesNotMatch(name, /dashwood/i);
  assert.match((await hit.locator('mark').first().textContent())!, /^dashwood$/i);
  assert.match((await page.textContent('#recent-status'))!, /^Found: 1$/);
  // The hit's line and time are the API's.
  const answer = (await (await fetch(`${services.url}/api/jobs?q=dashwood`)).json()) as { jobs: Array<{ id: string; matches: Array<{ start: number; text: string }> }> };
  const match = answer.jobs.find((j) => j.id === id)!.matches.at(-1)!;
  assert.equal(Number(await hit.getAttribute('data-start')), match.start);
  assert.ok(match.start > 0.5, `the match starts at ${match.start}s: too near the start to tell a seek`);
  assert.ok((await overflow(page)) <= 0, 'the page is wider than a phone');
  await page.screenshot({ path: `${SHOTS}/30-search-390.png`, fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await assertAccessible(page);

  // The hit by keyboard: the job opens at the line, the word marked there, the player at its start.
  await hit.focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((job) => location.hash === `#/jobs/${job}`, id);
  await page.waitForSelector('#segments .found mark');
  assert.match((await page.textContent('#segments .found mark'))!, /^dashwood$/i);
  const at = await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);
  assert.ok(Math.abs(at - match.start) < 0.5, `the player is at ${at}s, the match at ${match.start}s`);
  assert.equal(Number(await page.getAttribute('#segments .found', 'data-start')), match.start);
  await page.screenshot({ path: `${SHOTS}/31-search-opened.png`, fullPage: true });
  await assertAccessible(page);
});

test('a job made through the API plays from the server\'s copy (KEEP_AUDIO): opened from Recent it plays; a search hit opens it with the player at the match', async (t) => {
  const name = `kept-${tag()}.wav`;
  const job = await apiJob(librivox(name, 2), name); // "Dashwood" twice, at 0 s and 25 s
  assert.equal(((await finishedJob(job.id)) as Job).status, 'succeeded');

  // From Recent: no file in this tab, the server's audio plays.
  const page = await open(t);
  await page.click(`#recent button.open[data-id="${job.id}"]`);
  await page.waitForFunction((id) => location.hash === `#/jobs/${id}`, job.id);
  await assertSucceeded(page);
  await page.waitForSelector('#audio:not([hidden])');
  assert.equal(await page.isHidden('#video'), true, 'a WAV plays as audio');
  assert.equal(await page.getAttribute('#audio', 'src'), `/api/jobs/${job.id}/audio`, 'an open server: no key in the URL');
  await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).play());
  await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 0.5, undefined, { timeout: 20_000 });
  await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).pause());

  // A search hit, in a page that has not loaded the audio yet: the job opens with the player at the match's start.
  const other = await open(t);
  await other.fill('#search', 'dashwood');
  const hit = line(other, job.id).locator('button.hit').last();
  await hit.waitFor();
  const start = Number(await hit.getAttribute('data-start'));
  assert.ok(start > 0.5, `the match starts at ${start}s: too near the start to tell a seek`);
  await hit.click();
  await other.waitForFunction((id) => location.hash === `#/jobs/${id}`, job.id);
  await other.waitForSelector('#segments .found mark');
  await other.waitForSelector('#audio:not([hidden])');
  await other.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).readyState >= HTMLMediaElement.HAVE_METADATA, undefined, { timeout: 20_000 });
  const at = await other.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);
  assert.ok(Math.abs(at - start) < 0.5, `the player is at ${at}s, the match at ${start}s`);
  // And it plays on from there.
  await other.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).play());
  await other.waitForFunction((from) => (document.getElementById('audio') as HTMLAudioElement).currentTime > from + 0.3, start, { timeout: 20_000 });
});

test('in Russian: filters by status, model and date narrow the list, "Load more" brings the next page, and two ticked jobs are deleted (then 404), one by its own button', async (t) => {
  const stem = `batch${tag()}`;
  // 21 jobs cancelled at once (cancelled: finished, listed, deletable) and one that succeeds: more than a page of 20.
  const cancelled = [];
  for (let i = 0; i < 21; i++) {
    const job = await apiJob(SHORT_CLIP, `${stem}-${i}.wav`);
    await fetch(`${services.url}/api/jobs/${job.id}`, { method: 'DELETE' });
    cancelled.push(job);
  }
  const done = await apiJob(SHORT_CLIP, `${stem}-done.wav`);
  for (const job of cancelled) assert.equal(((await finishedJob(job.id)) as Job).status, 'cancelled');
  assert.equal(((await finishedJob(done.id)) as Job).status, 'succeeded');

  const page = await open(t, { locale: 'ru-RU', viewport: { width: 390, height: 844 } });
  assert.equal(await page.textContent('#load-more'), 'Показать ещё');
  await page.fill('#search', stem);
  await page.waitForFunction(() => document.getElementById('recent-status')!.textContent === 'Найдено: 20+');
  assert.equal(await page.locator('#recent > li').count(), 20);
  assert.equal(await page.isVisible('#load-more'), true);
  await page.click('#load-more');
  await page.waitForFunction(() => document.querySelectorAll('#recent > li').length === 22);
  assert.equal(await page.isHidden('#load-more'), true);
  assert.equal(await page.textContent('#recent-status'), 'Найдено: 22');
  assert.ok((await overflow(page)) <= 0, 'the page is wider than a phone');
  await page.screenshot({ path: `${SHOTS}/32-history-ru-390.png`, fullPage: true });
  await assertAccessible(page);

  // Filters: status, model, date.
  await page.selectOption('#filter-status', 'succeeded');
  await page.waitForFunction(() => document.getElementById('recent-status')!.textContent === 'Найдено: 1');
  assert.equal(await page.locator('#recent button.open').getAttribute('data-id'), done.id);
  await page.selectOption('#filter-status', '');
  await page.selectOption('#filter-model', 'base');
  await page.waitForFunction(() => document.getElementById('recent-status')!.textContent === 'Ничего не найдено');
  await page.selectOption('#filter-model', 'tiny.en');
  await page.selectOption('#filter-date', 'today');
  await page.waitForFunction(() => document.getElementById('recent-status')!.textContent === 'Найдено: 20+');
  await page.selectOption('#filter-status', 'cancelled');
  await page.waitForFunction(() => document.getElementById('recent-status')!.textContent === 'Найдено: 20+' && !document.querySelector('#recent button.open[data-status="succeeded"]'));

  // Two ticked (by keyboard), deleted after the confirm.
  const [a, b, c] = await page.$$eval('#recent button.open', (buttons) => buttons.slice(0, 3).map((el) => (el as HTMLElement).dataset.id!));
  for (const id of [a!, b!]) {
    await line(page, id).locator('input.pick').focus();
    await page.keyboard.press('Space');
  }
  assert.equal(await page.textContent('#delete-selected'), 'Удалить выбранные (2)');
  const asked: string[] = [];
  page.once('dialog', (d) => (asked.push(d.message()), void d.accept()));
  await page.click('#delete-selected');
  await page.waitForFunction(([x, y]) => !document.querySelector(`#recent button.open[data-id="${x}"], #recent button.open[data-id="${y}"]`), [a!, b!]);
  assert.match(asked[0]!, /Удалить расшифровки \(2\)/);
  assert.equal(await status(a!), 404);
  assert.equal(await status(b!), 404);
  // The page filled up again: 19 cancelled jobs are left, 19 listed.
  await page.waitForFunction(() => document.querySelectorAll('#recent > li').length === 19);

  // One by its own button; a refused confirm deletes nothing.
  page.once('dialog', (d) => void d.dismiss());
  await line(page, c!).locator('button.delete').click();
  assert.equal(await status(c!), 200);
  page.once('dialog', (d) => void d.accept());
  await line(page, c!).locator('button.delete').click();
  await line(page, c!).waitFor({ state: 'detached' });
  assert.equal(await status(c!), 404);
});
