// What the page draws: the error box, the progress bar and the result card's
// facts and player (its transcript is transcript.ts's).
import { ApiError } from './api.ts';
import { catalog } from './catalog.ts';
import type { Job } from './jobs.ts';
import { errorText, languageName, t } from './i18n.ts';
import { clock } from './clock.ts';

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

/**
 * What the player plays: a file this tab has (its upload), or a job's audio as
 * the server keeps it (KEEP_AUDIO: GET /api/jobs/{id}/audio, `url` with the key
 * in its query, since a media element sends no header; it reads it in ranges
 * as it plays and seeks), as video or not.
 */
export type Playable = File | { url: string; video: boolean };

/** The result card's player: the audio or the video element, what it plays, and a video's captions. */
class Player {
  /** What plays: the File, or the server URL. */
  private playing: File | string | null = null;
  /** Stops the listeners of the server's copy when another source comes. */
  private watching: AbortController | null = null;

  /** The element that plays, or null when none does. */
  active(): HTMLMediaElement | null {
    const audio = $<HTMLAudioElement>('audio');
    const video = $<HTMLVideoElement>('video');
    return !audio.hidden ? audio : !video.hidden ? video : null;
  }

  /** Plays `source`, or hides the player when there is none (a job that failed, or whose audio the server does not keep). */
  show(source: Playable | null): void {
    const playing = source === null || source instanceof File ? source : source.url;
    if (playing === this.playing) return; // keep the place in what is already loaded
    this.playing = playing;
    this.watching?.abort();
    this.watching = null;
    const audio = $<HTMLAudioElement>('audio');
    const video = $<HTMLVideoElement>('video');
    this.clearCaptions();
    for (const media of [audio, video]) this.empty(media);
    if (!source) return;
    const isVideo = source instanceof File ? source.type.startsWith('video/') : source.video;
    const media = isVideo ? video : audio;
    media.src = source instanceof File ? URL.createObjectURL(source) : source.url;
    media.hidden = false;
    if (source instanceof File) return;
    const watching = (this.watching = new AbortController());
    const { signal } = watching;
    const url = new URL(source.url, document.baseURI).href; // as media.src reads it
    // The server's copy may be gone (KEEP_AUDIO=false, or deleted meanwhile): no player then, as before it was kept.
    for (const element of [audio, video]) element.addEventListener('error', () => element.src === url && this.empty(element), { signal });
    // A "video" by its name that has no picture (a recording, .webm) plays as audio, where it was.
    video.addEventListener('loadedmetadata', () => {
      if (video.videoWidth > 0 || video.src !== url) return;
      const at = video.currentTime;
      this.clearCaptions();
      this.empty(video);
      audio.src = source.url;
      audio.hidden = false;
      seek(audio, at);
    }, { signal, once: true });
  }

  private empty(media: HTMLMediaElement): void {
    if (media.src.startsWith('blob:')) URL.revokeObjectURL(media.src);
    media.removeAttribute('src');
    media.load(); // stops what it was reading (a server stream) and forgets its place
    media.hidden = true;
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
export const showMedia = (source: Playable | null) => player.show(source);

/** Puts `media` at `seconds`: at once, and again once it knows its length when it has not loaded yet (the server's copy). */
export function seek(media: HTMLMediaElement, seconds: number): void {
  media.currentTime = seconds;
  if (media.readyState >= HTMLMediaElement.HAVE_METADATA) return;
  const src = media.src;
  media.addEventListener('loadedmetadata', () => {
    if (media.src === src && Math.abs(media.currentTime - seconds) > 0.05) media.currentTime = seconds;
  }, { once: true });
}

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
