// The page against a gateway that needs API keys (API_KEYS): it asks for one,
// keeps it, sends it with every call (the event stream's in its query, the live
// socket's as a subprotocol, never in the page's address) and forgets it on Sign
// out; jobs belong to their key.
// The page learns that a key is needed from a 401, which the browser logs.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { CLIP } from '../../test-support/worker.ts';
import {
  apiJob, apiResult, assertSrt, assertSucceeded, downloadResult, fakeMicrophone, jobInHash, librivox, noteLive, openPage, serve, services, SHOTS, type OpenOptions,
} from './browser.ts';
import type { Job } from '../src/jobs.ts';

const KEY = `sk-test-${crypto.randomUUID()}`;
const OTHER = `sk-other-${crypto.randomUUID()}`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
serve({ API_KEYS: `tester:${KEY},other:${OTHER}` }, { browserArgs: fakeMicrophone(CLIP) });

/** A fresh browser on the page, once it asks for the key. */
async function openPrompt(t: TestContext, options: OpenOptions = {}): Promise<Page> {
  const page = await openPage(t, { expectErrors: /status of 401/, ...options });
  await page.waitForSelector('#key-dialog[open]');
  return page;
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.fill('#key', key);
  await page.click('#key-submit');
}

const storedKey = (page: Page) => page.evaluate(() => localStorage.getItem('whisper.apiKey'));
const modelsLoaded = (page: Page) => page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });

/** Collects the URLs of responses refused for their key from now until `stop()`. */
function refusals(page: Page): { urls: string[]; stop(): void } {
  const seen = { urls: [] as string[], on: true, stop: () => (seen.on = false) };
  page.on('response', (r) => seen.on && r.status() === 401 && seen.urls.push(r.url()));
  return seen;
}

test('a server with API keys asks for one in a labelled password field; a wrong key is refused and asked for again', async (t) => {
  const page = await openPrompt(t);
  const field = page.getByLabel('API key', { exact: true });
  assert.equal(await field.getAttribute('type'), 'password');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'key', 'the field has the focus');
  assert.match((await page.textContent('#key-dialog'))!, /This server needs an API key/);
  assert.equal(await page.isHidden('#sign-out'), true);
  assert.equal(await page.locator('#model option').count(), 0, 'nothing loads without a key');
  await page.screenshot({ path: `${SHOTS}/14-key-prompt.png`, fullPage: true });

  await signIn(page, 'sk-test-wrong');
  await page.waitForSelector('#key-error:not([hidden])');
  assert.match((await page.textContent('#key-error'))!, /This key is not valid/);
  assert.equal(await page.isVisible('#key-dialog'), true);
  assert.equal(await storedKey(page), null, 'a refused key is not kept');
  await page.screenshot({ path: `${SHOTS}/15-key-invalid.png`, fullPage: true });
});

test('the key prompt in Russian', async (t) => {
  const page = await openPrompt(t, { locale: 'ru-RU' });
  assert.equal(await page.textContent('#key-title'), 'Вход');
  assert.equal(await page.getByLabel('API-ключ', { exact: true }).getAttribute('type'), 'password');
  assert.equal(await page.textContent('#key-submit'), 'Войти');
  await signIn(page, 'sk-test-wrong');
  await page.waitForSelector('#key-error:not([hidden])');
  assert.match((await page.textContent('#key-error'))!, /Этот ключ недействителен/);
  await page.screenshot({ path: `${SHOTS}/16-key-invalid-ru.png`, fullPage: true });
});

test('with the right key the models load, a LibriVox clip is transcribed live over the event stream, and its SRT downloads', async (t) => {
  const page = await openPrompt(t);
  const streams: Array<{ status: number; keyed: boolean }> = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.pathname.endsWith('/events')) streams.push({ status: r.status(), keyed: url.searchParams.get('api_key') === KEY });
  });
  await page.keyboard.press('Escape'); // the page can do nothing without a key: the prompt stays
  await signIn(page, KEY);
  await modelsLoaded(page);
  const refused = refusals(page);
  assert.equal(await page.isVisible('#key-dialog'), false);
  assert.equal(await page.isVisible('#sign-out'), true);
  assert.equal(await storedKey(page), KEY);

  await page.setInputFiles('#file', librivox('keyed.wav'));
  await page.selectOption('#model', 'tiny.en');
  await noteLive(page);
  await page.click('#start');
  await page.waitForSelector('#segments li');
  const id = await jobInHash(page);
  await assertSucceeded(page);
  assert.equal(await page.getAttribute('body', 'data-live'), 'yes', 'segments appeared only after the transcription ended');
  assert.ok(streams.length > 0 && streams.every((s) => s.status === 200 && s.keyed), JSON.stringify(streams));
  await page.waitForSelector(`#recent button[data-id="${id}"][aria-current="true"]:has-text("keyed.wav")`);
  await page.screenshot({ path: `${SHOTS}/17-signed-in.png`, fullPage: true });

  const srt = await downloadResult(page, 'srt');
  assert.equal(srt.headers.authorization, `Bearer ${KEY}`);
  assert.equal(srt.url.search, '?format=srt', 'the key went in the header, not the URL');
  assert.equal(srt.name, 'keyed.srt');
  assertSrt(srt.text);
  assert.equal(srt.text, await apiResult(id, 'srt', bearer(KEY)));
  assert.match(srt.text.toLowerCase(), /dashwood/);
  assert.deepEqual(refused.urls, [], 'a call was refused after signing in');
  assert.equal((await fetch(`${services.url}/api/jobs/${id}`, { headers: bearer(OTHER) })).status, 404, 'another key cannot see the job');
});

test('a job link opened before signing in shows the job after; the key survives a reload; Sign out forgets it and asks again', async (t) => {
  const job = await apiJob(CLIP, `link-${crypto.randomUUID().slice(0, 8)}.wav`, { model: 'tiny.en' }, bearer(KEY));
  const page = await openPrompt(t, { at: `/#/jobs/${job.id}`, viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
  await page.screenshot({ path: `${SHOTS}/18-key-prompt-phone-dark.png`, fullPage: true });
  await signIn(page, KEY);
  await assertSucceeded(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `with Sign out the page is ${overflow}px wider than the phone`);
  await page.screenshot({ path: `${SHOTS}/19-signed-in-phone-dark.png` });
  const refused = refusals(page);
  await page.reload();
  await assertSucceeded(page);
  await modelsLoaded(page);
  assert.equal(await page.isVisible('#key-dialog'), false, 'asked again after a reload');
  refused.stop();
  assert.deepEqual(refused.urls, []);

  await page.click('#sign-out');
  await page.waitForSelector('#key-dialog[open]');
  assert.equal(await storedKey(page), null);
  assert.equal(await page.isHidden('#sign-out'), true);
  assert.equal(await page.isHidden('#result'), true, 'the signed-out page shows no job');
  assert.equal(new URL(page.url()).hash, '', 'the address no longer names the job');
});

test('jobs another key submitted are not in Recent, and their links say they do not exist', async (t) => {
  const tag = crypto.randomUUID().slice(0, 8);
  const mine = await apiJob(CLIP, `mine-${tag}.wav`, { model: 'tiny.en' }, bearer(KEY));
  const theirs = await apiJob(CLIP, `theirs-${tag}.wav`, { model: 'tiny.en' }, bearer(OTHER));
  const listed = (await (await fetch(`${services.url}/api/jobs`, { headers: bearer(OTHER) })).json()) as { jobs: Job[] };
  assert.ok(listed.jobs.some((j) => j.id === theirs.id), 'the other key sees its own job');

  const page = await openPrompt(t, { expectErrors: /status of (401|404)/ });
  await signIn(page, KEY);
  await page.waitForSelector(`#recent button[data-id="${mine.id}"]`);
  assert.equal(await page.locator(`#recent button[data-id="${theirs.id}"]`).count(), 0);
  assert.doesNotMatch((await page.textContent('#recent'))!, new RegExp(`theirs-${tag}`));

  await page.evaluate((id) => (location.hash = `#/jobs/${id}`), theirs.id);
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /This job does not exist/);
});

test('Live captions with a key: the socket carries it as a subprotocol, never in its address, and the session opens and ends cleanly', async (t) => {
  const page = await openPrompt(t);
  await signIn(page, KEY);
  await modelsLoaded(page);
  const refused = refusals(page);
  const sockets: string[] = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await page.selectOption('#model', 'tiny.en');
  await page.click('#live');
  await page.waitForSelector('#live.on', { timeout: 30_000 }); // the server refuses a socket without the key
  assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
  assert.deepEqual(sockets.map((url) => new URL(url).search), ['?intent=transcription']);
  await page.click('#live');
  await page.waitForSelector('#live:not(.on):not([disabled])', { timeout: 60_000 });
  assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
  assert.deepEqual(refused.urls, [], 'a call was refused after signing in');
});
