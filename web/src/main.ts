// The page: pick or record audio, watch it transcribe live, read, play and export.
import { ApiError, listLanguages, listModels, transcribe, type Language, type ModelInfo, type Segment, type Transcript } from './api.ts';
import { applyLocale, errorText, initialLocale, languageName, t, type Locale } from './i18n.ts';
import { clock, download, spoken, type DownloadKind } from './exports.ts';
import { entries, remember } from './history.ts';
import { record, type Recording } from './recorder.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let locale: Locale = initialLocale();
let file: File | null = null;
let models: ModelInfo[] = [];
let languages: Language[] = [];
let defaultModel = 'base';
let current: { name: string; transcript: Transcript } | null = null;
let running: { cancel(): void } | null = null;
let recording: Recording | null = null;

function setLocale(next: Locale): void {
  locale = next;
  applyLocale(next);
  $('lang-en').setAttribute('aria-pressed', String(next === 'en'));
  $('lang-ru').setAttribute('aria-pressed', String(next === 'ru'));
  fillModels();
  fillLanguages();
  renderHistory();
  if (current) renderFacts(current.transcript);
  if (lastError && !$('error').hidden) showError(lastError); // in the new language
}

function fillModels(): void {
  const select = $<HTMLSelectElement>('model');
  const chosen = select.value || defaultModel;
  select.replaceChildren(
    ...models.map((m) => {
      const note = m.loaded ? ` · ${t('loaded')}` : m.available ? '' : ` · ${t('notAvailable')}`;
      const option = new Option(m.name + note, m.name, false, m.name === chosen);
      option.disabled = !m.available;
      return option;
    }),
  );
}

function fillLanguages(): void {
  const select = $<HTMLSelectElement>('language');
  const chosen = select.value;
  const options = languages.map(({ code, name }) => [code, languageName(code, name)] as const).sort((a, b) => a[1].localeCompare(b[1], locale));
  select.replaceChildren(new Option(t('auto'), 'auto'), ...options.map(([code, name]) => new Option(name, code, false, code === chosen)));
}

function choose(picked: File): void {
  file = picked;
  $('file-name').textContent = picked.name;
  $<HTMLButtonElement>('start').disabled = false;
}

let lastError: ApiError | null = null;

function showError(error: unknown): void {
  const e = error instanceof ApiError ? error : new ApiError('network', String(error));
  if (e.code === 'cancelled') return;
  lastError = e;
  const box = $('error');
  box.textContent = errorText(e.code) ?? `${t('err_other')} ${e.message}`;
  box.hidden = false;
}

function setProgress(stage: string, fraction: number, eta = ''): void {
  $('progress').hidden = false;
  $('stage').textContent = stage;
  $('eta').textContent = eta;
  $('meter-fill').style.width = `${Math.round(fraction * 100)}%`;
}

async function start(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  if (!file) return;
  $('error').hidden = true;
  lastError = null;
  const form = new FormData($<HTMLFormElement>('form'));
  form.set('file', file, file.name);
  if (!form.has('vad_filter')) form.set('vad_filter', 'false');
  if (!form.get('prompt')) form.delete('prompt');
  const name = file.name;
  showMedia(file);
  const list = $('segments');
  list.replaceChildren();
  list.hidden = false;
  $('no-speech').hidden = true;
  $('result').hidden = false;
  $('facts').replaceChildren();
  let began = 0;
  const job = transcribe(form, {
    upload: (f) => setProgress(`${t('uploading')} ${Math.round(f * 100)}%`, f),
    queued: () => setProgress(t('waiting'), 0),
    info: (_l, _p, duration) => {
      began = performance.now();
      setProgress(`${t('working')} 0%`, 0, `0:00 ${t('elapsed')} · ${clock(duration)}`);
    },
    progress: (processed, duration) => {
      const fraction = duration ? processed / duration : 0;
      const elapsed = (performance.now() - began) / 1000;
      const left = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : 0;
      setProgress(`${t('working')} ${Math.round(fraction * 100)}%`, fraction, `${clock(elapsed)} ${t('elapsed')} · ~${clock(left)} ${t('remaining')}`);
    },
    segment: (segment) => list.append(segmentItem(segment)),
  });
  running = job;
  $<HTMLButtonElement>('start').disabled = true;
  try {
    const transcript = await job.done;
    current = { name, transcript };
    remember(name, transcript);
    showTranscript(transcript);
    renderHistory();
  } catch (e) {
    showError(e);
    // Put back what was on screen before this attempt, without the file that failed.
    showMedia(null);
    if (current) showTranscript(current.transcript);
    else $('result').hidden = true;
  } finally {
    running = null;
    $('progress').hidden = true;
    $<HTMLButtonElement>('start').disabled = false;
  }
}

function segmentItem(segment: Segment): HTMLLIElement {
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

function showTranscript(transcript: Transcript): void {
  $('result').hidden = false;
  // Silence, or noise that decodes as audio, gives no segments or only empty ones: say so rather than show nothing.
  const silent = spoken(transcript.segments).length === 0;
  $('no-speech').hidden = !silent;
  $('segments').hidden = silent;
  $('actions').hidden = silent;
  $('segments').replaceChildren(...transcript.segments.map(segmentItem));
  renderFacts(transcript);
}

function renderFacts(transcript: Transcript): void {
  const known = languages.find((l) => l.code === transcript.language)?.name;
  const language = `${languageName(transcript.language, known)} (${Math.round(transcript.language_probability * 100)}%)`;
  const speed = transcript.timing.total_seconds > 0 ? `${(transcript.duration / transcript.timing.total_seconds).toFixed(1)}${t('realtime')}` : '—';
  const facts: Array<[string, string]> = [[t('detected'), language], [t('duration'), clock(transcript.duration)], [t('speed'), speed]];
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

function activeMedia(): HTMLMediaElement | null {
  const audio = $<HTMLAudioElement>('audio');
  const video = $<HTMLVideoElement>('video');
  return !audio.hidden ? audio : !video.hidden ? video : null;
}

function showMedia(source: File | null): void {
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

function highlight(): void {
  const media = activeMedia();
  if (!media) return;
  for (const item of document.querySelectorAll<HTMLLIElement>('#segments li')) {
    const on = media.currentTime >= Number(item.dataset.start) && media.currentTime < Number(item.dataset.end);
    item.classList.toggle('playing', on);
    if (on) item.setAttribute('aria-current', 'true');
    else item.removeAttribute('aria-current');
  }
}

function renderHistory(): void {
  const all = entries();
  const list = $('recent');
  if (!all.length) {
    const empty = document.createElement('li');
    empty.className = 'muted';
    empty.textContent = t('noRecent');
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(
    ...all.map((entry) => {
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = entry.name;
      const when = document.createElement('small');
      when.textContent = `${new Date(entry.at).toLocaleString(locale)} · ${clock(entry.transcript.duration)}`;
      button.append(name, when);
      button.addEventListener('click', () => {
        current = { name: entry.name, transcript: entry.transcript };
        showMedia(null);
        showTranscript(entry.transcript);
      });
      item.append(button);
      return item;
    }),
  );
}

async function toggleRecording(): Promise<void> {
  const button = $('record');
  if (recording) {
    choose(await recording.stop());
    recording = null;
    button.classList.remove('on');
    $('record-label').dataset.i18n = 'record';
  } else {
    try {
      recording = await record();
    } catch (e) {
      showError(new ApiError('microphone', String(e)));
      return;
    }
    button.classList.add('on');
    $('record-label').dataset.i18n = 'stopRecording';
  }
  $('record-label').textContent = t($('record-label').dataset.i18n as 'record');
}

function wire(): void {
  const drop = $('drop');
  $<HTMLInputElement>('file').addEventListener('change', (e) => {
    const picked = (e.target as HTMLInputElement).files?.[0];
    if (picked) choose(picked);
  });
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const picked = e.dataTransfer?.files[0];
    if (picked) choose(picked);
  });
  $<HTMLFormElement>('form').addEventListener('submit', (e) => void start(e));
  $('cancel').addEventListener('click', () => running?.cancel());
  $('record').addEventListener('click', () => void toggleRecording());
  $('lang-en').addEventListener('click', () => setLocale('en'));
  $('lang-ru').addEventListener('click', () => setLocale('ru'));
  $('theme').addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme === 'dark' || (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    document.documentElement.dataset.theme = dark ? 'light' : 'dark';
    localStorage.setItem('whisper.theme', document.documentElement.dataset.theme);
  });
  $('copy').addEventListener('click', async () => {
    if (!current) return;
    await navigator.clipboard.writeText(current.transcript.text).catch(() => {});
    $('copy').textContent = t('copied');
    setTimeout(() => ($('copy').textContent = t('copy')), 1500);
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-download]')) {
    button.addEventListener('click', () => {
      if (!current) return;
      $('error').hidden = true;
      download(current.name, button.dataset.download as DownloadKind, current.transcript).catch(showError);
    });
  }
  $('audio').addEventListener('timeupdate', highlight);
  $('video').addEventListener('timeupdate', highlight);
}

const theme = localStorage.getItem('whisper.theme');
if (theme) document.documentElement.dataset.theme = theme;
wire();
setLocale(locale);
listModels()
  .then((list) => {
    models = list.models;
    defaultModel = list.default;
    fillModels();
  })
  .catch(showError);
listLanguages()
  .then((list) => {
    languages = list;
    fillLanguages();
    if (current) renderFacts(current.transcript);
  })
  .catch(showError);
