// Who said what, in a real browser against the real gateway and worker (real
// speaker models): a talk of three real voices (browser.ts, talk) transcribed
// with Speakers on, its turns, their colours, renaming, the player, downloads,
// and a phone's width. Which words the model hears, where the turns fall and
// how many speakers automatic finds differ between CPUs: the tests check that
// there are speakers, that the page agrees with the server, and what a rename
// changes, never exact text or times.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import {
  apiJob, apiResult, assertSrt, downloadResult, finishedJob, getJob, jobInHash, openPage, serve, services, settled, SHOTS, talk, type OpenOptions,
} from './browser.ts';

serve();

/** openPage, once the model menu is filled. */
async function open(t: TestContext, options: OpenOptions = {}): Promise<Page> {
  const page = await openPage(t, options);
  await page.waitForSelector('#model option[value="tiny.en"]', { state: 'attached' });
  return page;
}

interface TurnOnPage {
  id: string | null;
  name: string;
  /** The name's computed colour, and the background it is read on. */
  colour: string;
  background: string;
  renamable: boolean;
  text: string;
  start: number;
}

/** The transcript's turns as the page shows them. */
const turnsOnPage = (page: Page): Promise<TurnOnPage[]> =>
  page.locator('#segments li.turn').evaluateAll((items) => {
    const card = getComputedStyle(document.getElementById('result')!).backgroundColor;
    return items.map((li) => {
      const speaker = li.querySelector<HTMLElement>('.speaker')!;
      const own = getComputedStyle(li).backgroundColor;
      return {
        id: (li as HTMLElement).dataset.speaker ?? null,
        name: speaker.querySelector('.name')?.textContent ?? '',
        colour: getComputedStyle(speaker).color,
        background: own === 'rgba(0, 0, 0, 0)' ? card : own,
        renamable: speaker.tagName === 'BUTTON',
        text: li.querySelector('.turn-text')?.textContent?.trim() ?? '',
        start: Number((li as HTMLElement).dataset.start),
      };
    });
  });

/** WCAG's contrast ratio of two computed colours (rgb(…)). */
function contrast(a: string, b: string): number {
  const luminance = (colour: string) => {
    const [r, g, bl] = colour.match(/[\d.]+/g)!.slice(0, 3).map((v) => Number(v) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** Each speaker has one name and one colour of its own, readable on its background; a turn follows another speaker's. */
function assertSpeakers(turns: TurnOnPage[]): Map<string, TurnOnPage> {
  assert.ok(turns.length >= 2, `turns: ${JSON.stringify(turns)}`);
  const byId = new Map<string, TurnOnPage>();
  turns.forEach((turn, i) => {
    assert.ok(turn.text.length > 0, `turn ${i} has no text`);
    if (i) assert.notEqual(turn.name, turns[i - 1]!.name, `turns ${i - 1} and ${i} are one speaker's: they should be one turn`);
    assert.ok(contrast(turn.colour, turn.background) >= 4.5, `${turn.name}: ${turn.colour} on ${turn.background} is ${contrast(turn.colour, turn.background).toFixed(2)}:1`);
    if (turn.id === null) return; // nobody was heard
    const seen = byId.get(turn.id);
    if (seen) {
      assert.equal(turn.name, seen.name);
      assert.equal(turn.colour, seen.colour);
    } else byId.set(turn.id, turn);
  });
  assert.ok(byId.size >= 2, `speakers: ${[...byId.keys()]}`);
  const colours = [...byId.values()].map((t) => t.colour);
  assert.equal(new Set(colours).size, colours.length, `two speakers share a colour: ${colours}`);
  assert.equal(new Set([...byId.values()].map((t) => t.name)).size, byId.size, 'two speakers share a name');
  return byId;
}

/** Notes in <body data-live-turns> whether a speaker's turn was on screen while the progress bar still was: turns arrive live. */
async function noteLiveTurns(page: Page): Promise<void> {
  await page.evaluate(() => {
    const progress = document.getElementById('progress')!;
    new MutationObserver(() => {
      if (!progress.hidden && document.querySelector('#segments li.turn .speaker')) document.body.dataset.liveTurns = 'yes';
    }).observe(document.getElementById('segments')!, { childList: true, subtree: true });
  });
}

/** Keeps in window.sentFields the text fields of each form the page uploads (XMLHttpRequest: the browser reports no multipart body). */
function recordForms(): void {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData) (window as unknown as { sentFields: string[][] }).sentFields = [...body.entries()].filter(([, v]) => typeof v === 'string') as string[][];
    return send.call(this, body);
  };
}

/** The text fields of the form the page uploaded last. */
const sentFields = async (page: Page) => Object.fromEntries(await page.evaluate(() => (window as unknown as { sentFields: string[][] }).sentFields));

/** The text download's turns: "Name: words" a line (the gateway's text format with speakers). */
const textTurns = (text: string) => text.trim().split('\n').map((line) => /^(.*?): /.exec(line)?.[1] ?? null);

test('who said what: Speakers automatic shows turns in colours of their own; a rename, by keyboard, names every turn, the downloads and the job after a reload', async (t) => {
  const page = await open(t, { init: recordForms });
  await page.setInputFiles('#file', talk('three-voices.wav'));
  await page.selectOption('#model', 'tiny.en');
  await page.selectOption('#speakers', 'auto');
  assert.equal(await page.isHidden('#speakers-count'), true, 'automatic asks for no number');
  await noteLiveTurns(page);
  await page.click('#start');
  await page.waitForSelector('#segments li');
  const sent = await sentFields(page);
  assert.equal(sent.diarize, 'true');
  assert.equal(sent.num_speakers, undefined);
  assert.equal(await settled(page), 'succeeded', (await page.textContent('#error')) ?? '');
  assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
  const id = await jobInHash(page);
  assert.equal(await page.getAttribute('body', 'data-live-turns'), 'yes', 'the turns appeared only after the transcription ended');

  const turns = await turnsOnPage(page);
  const speakers = assertSpeakers(turns);
  assert.ok(turns.every((turn) => turn.id === null || turn.renamable), 'a finished job\'s names rename');
  assert.match(turns.map((turn) => turn.text).join(' ').toLowerCase(), /dashwood/); // the reader, heard
  // The page's speakers are the result's.
  const job = await getJob(id);
  for (const [speaker, turn] of speakers) assert.equal(job.result!.speakers!.find((s) => s.id === speaker)?.name, turn.name);
  assert.match((await page.textContent('#facts'))!, new RegExp(`Speakers\\s*${job.result!.speakers!.length}`));
  await page.screenshot({ path: `${SHOTS}/14-speakers.png`, fullPage: true });

  // The player: a click on a turn plays from its start, and that turn is marked while it plays.
  const second = page.locator('#segments li.turn').nth(1);
  await second.locator('.turn-text').click({ position: { x: 4, y: 4 } });
  await page.waitForFunction((s) => Math.abs((document.getElementById('audio') as HTMLAudioElement).currentTime - s) < 1, turns[1]!.start);
  await page.waitForFunction(() => {
    const items = [...document.querySelectorAll('#segments li.turn')];
    return items[1]!.classList.contains('playing') && items[1]!.getAttribute('aria-current') === 'true' && items.filter((li) => li.classList.contains('playing')).length === 1;
  });
  await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).pause());

  // A download before the rename, so that a cached copy would show after it.
  const before = await downloadResult(page, 'srt');
  assert.doesNotMatch(before.text, /^Host: /m);

  // Rename by keyboard: Enter on a name opens the edit, Escape keeps the name and sends nothing, Enter renames.
  const at = turns.findIndex((turn) => turn.id !== null); // the first turn in which somebody was heard
  const target = turns[at]!.id!;
  const old = turns[at]!.name;
  const patches: string[] = [];
  page.on('request', (r) => r.method() === 'PATCH' && patches.push(r.url()));
  const name = page.locator(`#segments li.turn[data-speaker="${target}"] button.speaker`).first();
  assert.equal(await name.getAttribute('aria-label'), `Rename speaker ${old}`);
  await name.focus();
  await page.keyboard.press('Enter');
  const input = page.locator('#segments form.rename input');
  await input.waitFor();
  assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'the edit has the focus');
  assert.equal(await input.inputValue(), old);
  await page.keyboard.type('Nobody at all');
  await page.keyboard.press('Escape');
  await input.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.matches('#segments button.speaker')), true, 'the focus went back to the name');
  assert.deepEqual((await turnsOnPage(page)).map((turn) => turn.name), turns.map((turn) => turn.name));
  await page.keyboard.press('Enter');
  await input.waitFor();
  await page.keyboard.type('Host'); // the old name is selected: typing replaces it
  await page.screenshot({ path: `${SHOTS}/15-speaker-rename.png`, fullPage: true });
  const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'PATCH'), page.keyboard.press('Enter')]);
  assert.equal(answer.status(), 200, await answer.text());
  assert.deepEqual(answer.request().postDataJSON(), { speakers: { [target]: 'Host' } });
  assert.deepEqual(patches, [`${services.url}/api/jobs/${id}`], 'one PATCH, for the rename that changed the name');
  await input.waitFor({ state: 'detached' });
  const renamed = await turnsOnPage(page);
  assert.deepEqual(renamed.map((turn) => turn.id), turns.map((turn) => turn.id));
  renamed.forEach((turn, i) => assert.equal(turn.name, turn.id === target ? 'Host' : turns[i]!.name, `turn ${i}`));
  assert.equal(renamed.find((turn) => turn.id === target)!.colour, speakers.get(target)!.colour, 'the colour goes with the speaker, not the name');
  assert.equal(await page.evaluate((i) => document.activeElement?.closest('li.turn') === document.querySelectorAll('#segments li.turn')[i], at), true, 'the focus is back on the renamed name');
  assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
  await page.screenshot({ path: `${SHOTS}/16-speaker-renamed.png`, fullPage: true });

  // Every download is the server's, with the new name.
  const srt = await downloadResult(page, 'srt');
  assertSrt(srt.text);
  assert.equal(srt.text, await apiResult(id, 'srt'));
  assert.match(srt.text, /^Host: /m);
  const text = await downloadResult(page, 'txt');
  assert.equal(text.text, await apiResult(id, 'text'));
  assert.deepEqual(textTurns(text.text), renamed.map((turn) => turn.id === null ? null : turn.name));
  const json = JSON.parse((await downloadResult(page, 'json')).text) as { speakers: Array<{ id: string; name: string }> };
  assert.equal(json.speakers.find((s) => s.id === target)?.name, 'Host');

  // The job again, from its link: the name is the server's.
  await page.reload();
  assert.equal(await settled(page), 'succeeded');
  await page.waitForSelector('#segments li.turn');
  const reloaded = await turnsOnPage(page);
  assert.deepEqual(reloaded.map((turn) => [turn.id, turn.name]), renamed.map((turn) => [turn.id, turn.name]));
  await page.waitForSelector('#audio:not([hidden])'); // the tab's file is gone with the tab: the server's copy plays
});

test('a number of speakers is sent as num_speakers and met; a rename the server refuses is shown as an error and changes nothing; names follow the interface\'s language', async (t) => {
  const page = await open(t, { expectErrors: /status of 503/, init: recordForms });
  await page.setInputFiles('#file', talk('three-asked.wav'));
  await page.selectOption('#model', 'tiny.en');
  await page.selectOption('#speakers', '3');
  await page.click('#start');
  await page.waitForSelector('#segments li');
  const sent = await sentFields(page);
  assert.equal(sent.diarize, 'true');
  assert.equal(sent.num_speakers, '3');
  assert.equal(await settled(page), 'succeeded', (await page.textContent('#error')) ?? '');
  const id = await jobInHash(page);
  assert.equal((await getJob(id)).result!.speakers!.length, 3);
  assert.match((await page.textContent('#facts'))!, /Speakers\s*3/);
  const turns = await turnsOnPage(page);
  assertSpeakers(turns);

  // A blank name is no rename: nothing is sent.
  const name = page.locator('#segments button.speaker').first();
  await name.click();
  await page.fill('#segments form.rename input', '   ');
  await page.keyboard.press('Enter');
  await page.locator('#segments form.rename').waitFor({ state: 'detached' });

  // The server refuses: the error box says so, and every name stays.
  await page.route(`**/api/jobs/${id}`, (route) => route.request().method() === 'PATCH'
    ? route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { message: 'storage is down', type: 'server_error', param: null, code: 'storage_unavailable' } }) })
    : route.fallback());
  await name.click();
  await page.fill('#segments form.rename input', 'Guest');
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'PATCH'), page.click('#segments form.rename button[type="submit"]')]);
  await page.waitForSelector('#error:not([hidden])');
  assert.match((await page.textContent('#error'))!, /Something went wrong: storage is down/);
  await page.locator('#segments form.rename').waitFor({ state: 'detached' });
  assert.deepEqual((await turnsOnPage(page)).map((turn) => turn.name), turns.map((turn) => turn.name));
  assert.ok(!(await apiResult(id, 'text')).includes('Guest'));

  await page.click('#lang-ru');
  assert.equal(await name.getAttribute('aria-label'), `Переименовать говорящего ${turns.find((turn) => turn.renamable)!.name}`);
  assert.match((await page.textContent('#facts'))!, /Говорящие\s*3/);
  assert.equal(await page.textContent('#speakers option[value="auto"]'), 'Различать автоматически');
});

test('speakers on a phone (375×667, dark): long names wrap, the page never scrolls sideways, the edit and the form fit', async (t) => {
  const job = await apiJob(talk('phone-talk.wav'), 'phone-talk.wav', { model: 'tiny.en', diarize: 'true' });
  await finishedJob(job.id);
  const done = await getJob(job.id);
  assert.equal(done.status, 'succeeded');
  const first = done.result!.segments.find((s) => s.speaker)!.speaker!;
  const long = 'Professor Bartholomew Featherstonehaugh-Cholmondeley of the Department of Extremely Long Names';
  const rename = await fetch(`${services.url}/api/jobs/${job.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ speakers: { [first]: long } }) });
  assert.equal(rename.status, 200, await rename.text());

  const page = await open(t, { at: `/#/jobs/${job.id}`, viewport: { width: 375, height: 667 }, colorScheme: 'dark', hasTouch: true, isMobile: true });
  assert.equal(await settled(page), 'succeeded');
  await page.waitForSelector('#segments li.turn');
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok((await overflow()) <= 0, `the page is ${await overflow()}px wider than the phone`);
  assertSpeakers(await turnsOnPage(page)); // readable in the dark theme too
  const layout = await page.evaluate(() => {
    const name = document.querySelector<HTMLElement>('#segments li.turn button.speaker .name')!;
    const card = document.getElementById('result')!.getBoundingClientRect();
    const box = name.getBoundingClientRect();
    return { lines: name.getClientRects().length, height: box.height, lineHeight: parseFloat(getComputedStyle(name).lineHeight), left: box.left, right: box.right, cardLeft: card.left, cardRight: card.right, text: name.textContent };
  });
  assert.equal(layout.text, long);
  assert.ok(layout.height > layout.lineHeight * 1.5, `the long name did not wrap: ${JSON.stringify(layout)}`);
  assert.ok(layout.left >= layout.cardLeft && layout.right <= layout.cardRight, `the name is outside the card: ${JSON.stringify(layout)}`);
  await page.screenshot({ path: `${SHOTS}/17-speakers-phone.png`, fullPage: true });

  await page.locator('#segments button.speaker').first().tap();
  await page.waitForSelector('#segments form.rename input');
  assert.ok((await overflow()) <= 0, `with the edit open the page is ${await overflow()}px wider than the phone`);
  const edit = await page.evaluate(() => {
    const form = document.querySelector('#segments form.rename')!.getBoundingClientRect();
    return { right: form.right, width: window.innerWidth };
  });
  assert.ok(edit.right <= edit.width, `the edit is cut off: ${JSON.stringify(edit)}`);
  await page.screenshot({ path: `${SHOTS}/18-speakers-phone-rename.png` });
  await page.keyboard.press('Escape');

  // The form: Speakers, and "More…" with its number, fit too.
  await page.selectOption('#speakers', 'more');
  assert.equal(await page.isVisible('#num-speakers'), true);
  assert.equal(await page.inputValue('#num-speakers'), '11');
  assert.equal(await page.getAttribute('#num-speakers', 'max'), '32');
  assert.ok((await overflow()) <= 0, `with the form's speaker count the page is ${await overflow()}px wider than the phone`);
  await page.locator('#speakers').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/19-speakers-phone-form.png` });
});

test('a segment\'s speaker re-assigned in the transcript editor: saved as a revision, the first turn and the API name the new speaker', async (t) => {
  const job = await apiJob(talk('reassign-talk.wav'), 'reassign-talk.wav', { model: 'tiny.en', diarize: 'true' });
  await finishedJob(job.id);
  const done = await getJob(job.id);
  assert.equal(done.status, 'succeeded');
  const speakers = done.result!.speakers!;
  assert.ok(speakers.length >= 2, `speakers found: ${speakers.length}`);
  const first = done.result!.segments.find((s) => s.text.trim() !== '')!;
  const other = speakers.find((s) => s.id !== first.speaker && s.name !== first.speaker)!;

  const page = await open(t, { at: `/#/jobs/${job.id}` });
  assert.equal(await settled(page), 'succeeded');
  await page.click('#edit-transcript');
  const select = page.locator('#editor .edit-speaker').first();
  await select.waitFor();
  assert.equal(await select.getAttribute('aria-label'), 'Speaker of segment 1');
  await select.selectOption(other.id);
  assert.equal(await page.isEnabled('#editor [data-action="undo"]'), true);
  await page.click('#editor [data-action="saveTranscript"]');
  await page.waitForSelector('#edit-status:has-text("revision 1")');

  const saved = (await getJob(job.id)).result!.segments.find((s) => s.text.trim() !== '')!;
  assert.ok([other.id, other.name].includes(saved.speaker!), `the first segment's speaker is ${saved.speaker}, not ${other.id}`);
  await page.waitForSelector('#segments li.turn');
  assert.equal((await turnsOnPage(page))[0]!.name, other.name);
});
