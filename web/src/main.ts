// The page: pick or record audio, submit it as a job, follow it live, read, play and export; or caption the microphone live (live.ts).
import { listLanguages, listModels, type Language, type ModelInfo } from './api.ts';
import { applyLocale, initialLocale, languageName, t, type Locale } from './i18n.ts';
import { download, type DownloadKind } from './exports.ts';
import { cancel, link, openJob, redrawJob, route, shownJob, shownLink, submit } from './shown-job.ts';
import { onOpen, refreshRecent, renderRecent } from './recent.ts';
import { record, type Recording } from './recorder.ts';
import { $, hideError, highlight, knowLanguages, redrawError, showError } from './view.ts';
import { setKeyPrompt } from './key.ts';
import { askForKey, wireKeyDialog } from './key-dialog.ts';
import { wireLive } from './live.ts';

let locale: Locale = initialLocale();
let file: File | null = null;
let models: ModelInfo[] = [];
let languages: Language[] = [];
let defaultModel = 'base';
let recording: Recording | null = null;

function setLocale(next: Locale): void {
  locale = next;
  applyLocale(next);
  $('lang-en').setAttribute('aria-pressed', String(next === 'en'));
  $('lang-ru').setAttribute('aria-pressed', String(next === 'ru'));
  fillModels();
  fillLanguages();
  renderRecent();
  redrawJob();
  redrawError();
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

function start(event: SubmitEvent): void {
  event.preventDefault();
  if (!file) return;
  const form = new FormData($<HTMLFormElement>('form'));
  form.set('file', file, file.name);
  if (!form.has('vad_filter')) form.set('vad_filter', 'false');
  if (!form.get('prompt')) form.delete('prompt');
  void submit(form, file);
}

/** The Clipboard API exists only on secure origins; a self-hosted page is often plain http. */
async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = Object.assign(document.createElement('textarea'), { value: text });
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

function flash(id: string, done: 'copied' | 'linkCopied', back: 'copy' | 'copyLink'): void {
  $(id).textContent = t(done);
  setTimeout(() => ($(id).textContent = t(back)), 1500);
}

async function toggleRecording(): Promise<void> {
  const button = $('record');
  if (recording) {
    choose(await recording.stop());
    recording = null;
    $<HTMLButtonElement>('live').disabled = false;
    button.classList.remove('on');
    $('record-label').dataset.i18n = 'record';
  } else {
    hideError();
    try {
      recording = await record();
    } catch (e) {
      showError(e);
      return;
    }
    $<HTMLButtonElement>('live').disabled = true; // one user of the microphone at a time
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
  $<HTMLFormElement>('form').addEventListener('submit', start);
  $('cancel').addEventListener('click', () => void cancel());
  $('record').addEventListener('click', () => void toggleRecording());
  $('lang-en').addEventListener('click', () => setLocale('en'));
  $('lang-ru').addEventListener('click', () => setLocale('ru'));
  $('theme').addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme === 'dark' || (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    document.documentElement.dataset.theme = dark ? 'light' : 'dark';
    localStorage.setItem('whisper.theme', document.documentElement.dataset.theme);
  });
  $('copy').addEventListener('click', async () => {
    const text = shownJob()?.result?.text;
    if (text !== undefined && (await copy(text))) flash('copy', 'copied', 'copy');
  });
  $('copy-link').addEventListener('click', async () => {
    const url = shownLink();
    if (url && (await copy(url))) flash('copy-link', 'linkCopied', 'copyLink');
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-download]')) {
    button.addEventListener('click', () => {
      const job = shownJob();
      if (!job?.result) return;
      hideError();
      download(job.id, job.filename, button.dataset.download as DownloadKind).catch(showError);
    });
  }
  $('audio').addEventListener('timeupdate', highlight);
  $('video').addEventListener('timeupdate', highlight);
  window.addEventListener('hashchange', () => void route());
  onOpen((id) => {
    if (location.hash === link(id)) void openJob(id); // the same address: no hashchange, so open it again here
    else location.hash = link(id);
  });
}

const theme = localStorage.getItem('whisper.theme');
if (theme) document.documentElement.dataset.theme = theme;
wire();
wireLive();
wireKeyDialog();
setKeyPrompt(askForKey); // before the first call: any of them may find that the server wants a key
setLocale(locale);
void route();
void refreshRecent();
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
    knowLanguages(list);
    fillLanguages();
    redrawJob();
  })
  .catch(showError);
