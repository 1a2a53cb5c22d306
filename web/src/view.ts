// What the page draws: the error box, the progress bar and the result card
// (facts, segments, the player).
import { ApiError, type Language, type Segment, type Transcript } from './api.ts';
import type { Job } from './jobs.ts';
import { errorText, languageName, t } from './i18n.ts';
import { clock, spoken } from './exports.ts';

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let languages: Language[] = [];
let lastError: ApiError | null = null;

/** The API's languages, for names the browser does not know. */
export function knowLanguages(list: Language[]): void {
  languages = list;
}

export function showError(error: unknown): void {
  const e = error instanceof ApiError ? error : new ApiError('network', String(error));
  if (e.code === 'cancelled') return; // the page says so in its own place
  lastError = e;
  const box = $('error');
  box.textContent = errorText(e.code) ?? `${t('err_other')} ${e.message}`;
  box.hidden = false;
}

export function hideError(): void {
  $('error').hidden = true;
  lastError = null;
}

/** The error on screen again, in the interface's new language. */
export function redrawError(): void {
  if (lastError && !$('error').hidden) showError(lastError);
}

export function setProgress(stage: string, fraction: number, eta = ''): void {
  $('progress').hidden = false;
  $('stage').textContent = stage;
  $('eta').textContent = eta;
  $('meter-fill').style.width = `${Math.round(fraction * 100)}%`;
}

export function segmentItem(segment: Segment): HTMLLIElement {
  const item = document.createElement('li');
  item.dataset.start = String(segment.start);
  item.dataset.end = String(segment.end);
  const button = document.createElement('button');
  button.type = 'button';
  const time = document.createElement('time');
  time.textContent = clock(segment.start);
  const text = document.createElement('span');
  text.textContent = segment.text.trim();
  button.append(time, text);
  button.addEventListener('click', () => {
    const media = activeMedia();
    if (!media) return;
    media.currentTime = segment.start;
    void media.play().catch(() => {});
  });
  item.append(button);
  return item;
}

export function showTranscript(transcript: Transcript): void {
  // Silence, or noise that decodes as audio, gives no segments or only empty ones: say so rather than show nothing.
  const silent = spoken(transcript.segments).length === 0;
  $('no-speech').hidden = !silent;
  $('segments').hidden = silent;
  $('actions').hidden = silent;
  $('segments').replaceChildren(...transcript.segments.map(segmentItem));
}

/** What is known of the job: its status until it has succeeded, the language and length once known, the speed at the end. */
export function renderFacts(job: Job): void {
  const result = job.result;
  const code = result?.language ?? job.language;
  const facts: Array<[string, string]> = [];
  if (job.status !== 'succeeded') facts.push([t('status'), t(`status_${job.status}`)]);
  if (code) {
    const name = languageName(code, languages.find((l) => l.code === code)?.name);
    facts.push([t('detected'), result ? `${name} (${Math.round(result.language_probability * 100)}%)` : name]);
  }
  const duration = result?.duration ?? job.duration;
  if (duration !== null) facts.push([t('duration'), clock(duration)]);
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

export function activeMedia(): HTMLMediaElement | null {
  const audio = $<HTMLAudioElement>('audio');
  const video = $<HTMLVideoElement>('video');
  return !audio.hidden ? audio : !video.hidden ? video : null;
}

let playing: File | null = null;

/** Plays `source`, or hides the player when there is none (a job opened by link: the server keeps no audio). */
export function showMedia(source: File | null): void {
  if (source === playing) return; // keep the place in a file that is already loaded
  playing = source;
  const audio = $<HTMLAudioElement>('audio');
  const video = $<HTMLVideoElement>('video');
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

export function highlight(): void {
  const media = activeMedia();
  if (!media) return;
  for (const item of document.querySelectorAll<HTMLLIElement>('#segments li')) {
    const on = media.currentTime >= Number(item.dataset.start) && media.currentTime < Number(item.dataset.end);
    item.classList.toggle('playing', on);
    if (on) item.setAttribute('aria-current', 'true');
    else item.removeAttribute('aria-current');
  }
}
