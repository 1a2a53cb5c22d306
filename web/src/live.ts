// Live mode: the microphone streamed to the server while the user speaks
// (capture.ts, realtime.ts) and the text on screen as it is confirmed
// (captions.ts). At Stop the server keeps the transcript as a job, which the
// page then shows and lists like any other. Which state the mode is in, and
// what may happen next, is live-machine.ts's; this file does what each step
// takes and draws the state.
import { ApiError } from './api.ts';
import { capture, type Capture } from './capture.ts';
import { openSession, RATE, type Listener, type Session } from './realtime.ts';
import { captionDelta, captionDone, clearCaptions, openCaption, openCaptions } from './captions.ts';
import { can, IDLE, next, type LiveEvent, type LiveState, type Phase } from './live-machine.ts';
import { jobForm } from './form.ts';
import { listJobs } from './jobs.ts';
import { link } from './shown-job.ts';
import { recent } from './recent.ts';
import { t, type Key } from './i18n.ts';
import { $, hideError, showError } from './view.ts';

const CHUNK_MS = 100;
const EARLY_CHUNKS = 30;
const FINAL_WAIT_MS = 5000; // after Stop, for the last utterance's final text
const STORE_WAIT_MS = 5000; // after the socket closed, for the server to list the job
const POLL_MS = 200;

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

/** The status line of each phase; idle's says how the session ended, and a drop leaves it as it was until then. */
const STATUS: Partial<Record<Phase, Key>> = { starting: 'liveConnecting', live: 'liveListening', stopping: 'liveFinishing', saving: 'liveSaving' };

/** The controls as the phase has them: the button stops once a session is open, and one user of the microphone at a time. */
function render({ phase }: LiveState): void {
  const on = phase !== 'idle' && phase !== 'starting';
  const button = $<HTMLButtonElement>('live');
  button.classList.toggle('on', on);
  button.disabled = phase !== 'idle' && phase !== 'live';
  say('live-label', on ? 'stopLive' : 'live');
  $<HTMLButtonElement>('record').disabled = phase !== 'idle';
  const status = STATUS[phase];
  if (status) say('live-status', status);
}

/** The live mode: its state, and the microphone and the session it holds in it. */
class LiveCaptions {
  private state: LiveState = IDLE;
  private mic: Capture | null = null;
  private session: Session | null = null;

  click(): void {
    if (can(this.state, 'start')) this.start().catch(showError); // start catches its own refusals; this reports anything else
    else if (can(this.state, 'stop')) this.stop().catch(showError);
  }

  /** Moves the machine on, and draws the controls when the phase changed. */
  private send(event: LiveEvent): LiveState {
    const before = this.state;
    this.state = next(before, event);
    if (this.state.phase !== before.phase) render(this.state);
    return this.state;
  }

  /** The server's events, while this session is open. */
  private listener(): Listener {
    return {
      speechStarted: openCaption,
      committed: (item) => {
        openCaption(item); // a commit without detected speech still gets its final text
        this.send({ type: 'committed' });
      },
      delta: captionDelta,
      completed: (item, transcript) => {
        this.send({ type: 'final', words: transcript.trim() !== '' }); // the server keeps only utterances with words
        captionDone(item, transcript);
      },
      error: (error) => {
        const shown = this.state.errors;
        if (this.send({ type: 'error', code: error.code }).errors > shown) showError(error);
      },
      closed: () => {
        if (this.send({ type: 'socketClosed' }).phase === 'dropping') this.drop().catch(showError);
      },
    };
  }

  private async start(): Promise<void> {
    hideError();
    clearCaptions();
    $('live-panel').hidden = false;
    this.send({ type: 'start' });
    // Audio recorded while the socket opens waits here, so that the first words are not lost;
    // only the last few seconds, as a key prompt may hold the opening for long.
    const early: ArrayBuffer[] = [];
    const keep = (pcm: ArrayBuffer) => early.push(pcm) > EARLY_CHUNKS && early.shift();
    try {
      this.mic = await capture({ rate: RATE, chunkMs: CHUNK_MS }, (pcm) => (this.session ? this.session.append(pcm) : keep(pcm)));
      const opened = await openSession(jobForm.liveOptions(), this.listener());
      for (const pcm of early) opened.append(pcm);
      this.session = opened;
    } catch (e) {
      await this.mic?.stop();
      this.mic = null;
      $('live-panel').hidden = true;
      this.send({ type: 'refused' });
      showError(e);
      return;
    }
    this.send({ type: 'opened' });
  }

  private async stop(): Promise<void> {
    const session = this.session!;
    this.send({ type: 'stop' });
    await this.mic?.stop(); // its last chunk is sent before the commit
    this.mic = null;
    this.send({ type: 'commitSent' });
    session.commit();
    await until(() => !this.state.awaiting && openCaptions() === 0, FINAL_WAIT_MS);
    await session.close();
    this.session = null;
    if (this.send({ type: 'sessionEnded' }).phase === 'idle') {
      say('live-status', 'liveNothing');
      return;
    }
    await until(async () => (await listJobs(20).catch(() => [])).some((job) => job.id === session.id), STORE_WAIT_MS);
    clearCaptions();
    $('live-panel').hidden = true;
    this.send({ type: 'saved' });
    location.hash = link(session.id); // shown like any job: its transcript, downloads and link
    void recent.refresh();
  }

  /** The server ended the session, or the connection dropped: what was said stays on screen, and in Recent where the server kept it. */
  private async drop(): Promise<void> {
    this.session = null;
    await this.mic?.stop();
    this.mic = null;
    this.send({ type: 'released' });
    say('live-status', null);
    if (this.state.errors === 0) showError(new ApiError('live_closed', 'the realtime socket closed'));
    void recent.refresh();
  }
}

const live = new LiveCaptions();

export function wireLive(): void {
  $('live').addEventListener('click', () => live.click());
}
