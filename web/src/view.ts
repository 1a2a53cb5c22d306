// What the page draws: the error box, the progress bar and the result card's
// facts and player (its transcript is transcript.ts's).
import { ApiError } from './api.ts';
import { catalog } from './catalog.ts';
import type { Job } from './jobs.ts';
import { errorText, languageName, t } from './i18n.ts';
import { clock } from './exports.ts';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The error box, and the error in it: kept to be said again in another language. */
class ErrorBox {
  private error: ApiError | null = null;

  show(error: unknown): void {
    const e = error instanceof ApiError ? error : new ApiError('network', String(error));
    if (e.code === 'cancelled') return; // the page says so in its own place
    this.error = e;
    const box = $('error');
    box.textContent = errorText(e.code) ?? `${t('err_other')} ${e.message}`;
    box.hidden = false;
  }

  hide(): void {
    $('error').hidden = true;
    this.error = null;
  }

  /** The error on screen again, in the interface's new language. */
  redraw(): void {
    if (this.error && !$('error').hidden) this.show(this.error);
  }
}

const errorBox = new ErrorBox();
export const showError = (error: unknown) => errorBox.show(error);
export const hideError = () => errorBox.hide();
export const redrawError = () => errorBox.redraw();

export function setProgress(stage: string, fraction: number, eta = ''): void {
  $('progress').hidden = false;
  $('stage').textContent = stage;
  $('eta').textContent = eta;
  $('meter-fill').style.width = `${Math.round(fraction * 100)}%`;
}

/** What is known of the job: its status until it has succeeded, the language and length once known, the speed at the end. */
export function renderFacts(job: Job): void {
  const result = job.result;
  const code = result?.language ?? job.language;
  const facts: Array<[string, string]> = [];
  if (job.status !== 'succeeded') facts.push([t('status'), t(`status_${job.status}`)]);
  if (code) {
    const name = languageName(code, catalog.languageName(code));
    facts.push([t('detected'), result ? `${name} (${Math.round(result.language_probability * 100)}%)` : name]);
  }
  const duration = result?.duration ?? job.duration;
  if (duration !== null) facts.push([t('duration'), clock(duration)]);
  if (result?.speakers) facts.push([t('speakers'), String(result.speakers.length)]);
  if (result) facts.push([t('speed'), result.timing.total_seconds > 0 ? `${(result.duration / result.timing.total_seconds).toFixed(1)}${t('realtime')}` : '—']);
  $('facts').replaceChildren(
    ...facts.map(([label, value]) => {
      const row = document.createElement('div');
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = value;
      row.append(dt, dd);
      return row;
    }),
  );
}

/** The result card's player: the audio or the video element, the file it plays, and a video's captions. */
class Player {
  private file: File | null = null;

  /** The element that plays, or null when none does. */
  active(): HTMLMediaElement | null {
    const audio = $<HTMLAudioElement>('audio');
    const video = $<HTMLVideoElement>('video');
    return !audio.hidden ? audio : !video.hidden ? video : null;
  }

  /** Plays `source`, or hides the player when there is none (a job opened by link: the server keeps no audio). */
  show(source: File | null): void {
    if (source === this.file) return; // keep the place in a file that is already loaded
    this.file = source;
    const audio = $<HTMLAudioElement>('audio');
    const video = $<HTMLVideoElement>('video');
    this.clearCaptions();
    for (const media of [audio, video]) {
      if (media.src) URL.revokeObjectURL(media.src);
      media.removeAttribute('src');
      media.hidden = true;
    }
    if (!source) return;
    const media = source.type.startsWith('video/') ? video : audio;
    media.src = URL.createObjectURL(source);
    media.hidden = false;
  }

  /**
   * The video's captions from `vtt` (the job's WebVTT, fetched with the key: a <track> cannot send one, so it
   * reads a blob: URL), in place of any before; shown at once. Nothing for audio, which shows no captions.
   */
  setCaptions(vtt: Blob, language: string | null): void {
    const video = $<HTMLVideoElement>('video');
    if (video.hidden) return;
    this.clearCaptions();
    const track = document.createElement('track');
    track.kind = 'captions';
    track.label = t('captions');
    if (language) track.srclang = language;
    track.default = true;
    track.src = URL.createObjectURL(vtt);
    video.append(track);
  }

  private clearCaptions(): void {
    for (const track of document.querySelectorAll<HTMLTrackElement>('#video track')) {
      URL.revokeObjectURL(track.src);
      track.remove();
    }
  }
}

const player = new Player();
export const setCaptions = (vtt: Blob, language: string | null) => player.setCaptions(vtt, language);
export const activeMedia = () => player.active();
export const showMedia = (source: File | null) => player.show(source);

/** Marks what plays: the line, or the speaker's turn and the sentence in it. */
export function highlight(): void {
  const media = activeMedia();
  if (!media) return;
  const started = !media.paused || media.currentTime > 0; // a player not yet started marks nothing
  for (const item of document.querySelectorAll<HTMLElement>('#segments [data-start]')) {
    const on = started && media.currentTime >= Number(item.dataset.start) && media.currentTime < Number(item.dataset.end);
    item.classList.toggle('playing', on);
    if (item.tagName !== 'LI') continue;
    if (on) item.setAttribute('aria-current', 'true');
    else item.removeAttribute('aria-current');
  }
}
