// Live mode: the microphone streamed to the server while the user speaks
// (capture.ts, realtime.ts) and the text on screen as it is confirmed
// (captions.ts). At Stop the server keeps the transcript as a job, which the
// page then shows and lists like any other.
import { ApiError } from './api.ts';
import { capture, type Capture } from './capture.ts';
import { openSession, RATE, type Listener, type Session, type SessionOptions } from './realtime.ts';
import { captionDelta, captionDone, clearCaptions, openCaption, openCaptions } from './captions.ts';
import { listJobs } from './jobs.ts';
import { link } from './shown-job.ts';
import { refreshRecent } from './recent.ts';
import { t, type Key } from './i18n.ts';
import { $, hideError, showError } from './view.ts';

const CHUNK_MS = 100;
const EARLY_CHUNKS = 30;
const FINAL_WAIT_MS = 5000; // after Stop, for the last utterance's final text
const STORE_WAIT_MS = 5000; // after the socket closed, for the server to list the job
const POLL_MS = 200;

type State = 'idle' | 'starting' | 'live' | 'stopping';
let state: State = 'idle';
let session: Session | null = null;
let mic: Capture | null = null;
let finals = 0;
let answered = true; // the server has answered the commit sent at Stop
let ended = false; // the server closed the socket
let failed = false; // this session's error is on screen

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(done: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !(await done()) && Date.now() < end;) await sleep(POLL_MS);
}

/** Text that follows the interface's language: data-i18n, so that a switch redraws it. */
function say(id: string, key: Key | null): void {
  const el = $(id);
  el.hidden = key === null;
  if (key === null) return;
  el.dataset.i18n = key;
  el.textContent = t(key);
}

function setState(next: State): void {
  state = next;
  const button = $<HTMLButtonElement>('live');
  button.classList.toggle('on', next === 'live' || next === 'stopping');
  button.disabled = next === 'starting' || next === 'stopping';
  say('live-label', next === 'live' || next === 'stopping' ? 'stopLive' : 'live');
  $<HTMLButtonElement>('record').disabled = next !== 'idle'; // one user of the microphone at a time
}

/** The model, language and prompt chosen in the form, as for an upload. */
function choice(): SessionOptions {
  const form = new FormData($<HTMLFormElement>('form'));
  const value = (name: string) => String(form.get(name) ?? '').trim() || null;
  const language = value('language');
  return { model: value('model'), language: language === 'auto' ? null : language, prompt: value('prompt') };
}

const listener: Listener = {
  speechStarted: openCaption,
  committed(item) {
    openCaption(item); // a commit without detected speech still gets its final text
    answered = true;
  },
  delta: captionDelta,
  completed(item, transcript) {
    if (transcript.trim()) finals++; // the server keeps only utterances with words
    captionDone(item, transcript);
  },
  error(error) {
    if (state === 'stopping') {
      answered = true;
      // The last utterance had ended by itself: nothing was left to commit.
      if (error.code === 'input_audio_buffer_commit_empty') return;
    }
    failed = true;
    showError(error);
  },
  closed() {
    ended = answered = true;
    if (state === 'live') void lost();
  },
};

async function start(): Promise<void> {
  hideError();
  clearCaptions();
  finals = 0;
  answered = true;
  ended = failed = false;
  $('live-panel').hidden = false;
  setState('starting');
  say('live-status', 'liveConnecting');
  // Audio recorded while the socket opens waits here, so that the first words are not lost;
  // only the last few seconds, as a key prompt may hold the opening for long.
  const early: ArrayBuffer[] = [];
  const keep = (pcm: ArrayBuffer) => early.push(pcm) > EARLY_CHUNKS && early.shift();
  try {
    mic = await capture({ rate: RATE, chunkMs: CHUNK_MS }, (pcm) => (session ? session.append(pcm) : keep(pcm)));
    const opened = await openSession(choice(), listener);
    for (const pcm of early) opened.append(pcm);
    session = opened;
  } catch (e) {
    await mic?.stop();
    mic = null;
    $('live-panel').hidden = true;
    setState('idle');
    showError(e);
    return;
  }
  setState('live');
  say('live-status', 'liveListening');
}

async function stop(): Promise<void> {
  const live = session!;
  setState('stopping');
  say('live-status', 'liveFinishing');
  await mic?.stop(); // its last chunk is sent before the commit
  mic = null;
  answered = ended;
  live.commit();
  await until(() => answered && openCaptions() === 0, FINAL_WAIT_MS);
  await live.close();
  session = null;
  if (finals === 0) {
    setState('idle');
    say('live-status', 'liveNothing');
    return;
  }
  say('live-status', 'liveSaving');
  await until(async () => (await listJobs(20).catch(() => [])).some((job) => job.id === live.id), STORE_WAIT_MS);
  clearCaptions();
  $('live-panel').hidden = true;
  setState('idle');
  location.hash = link(live.id); // shown like any job: its transcript, downloads and link
  void refreshRecent();
}

/** The server ended the session, or the connection dropped: what was said stays on screen, and in Recent where the server kept it. */
async function lost(): Promise<void> {
  session = null;
  setState('stopping');
  await mic?.stop();
  mic = null;
  setState('idle');
  say('live-status', null);
  if (!failed) showError(new ApiError('live_closed', 'the realtime socket closed'));
  void refreshRecent();
}

export function wireLive(): void {
  $('live').addEventListener('click', () => {
    if (state === 'idle') void start();
    else if (state === 'live') void stop();
  });
}
