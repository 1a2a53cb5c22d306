// The page: pick or record audio, submit it as a job, follow it live, read, play and export; or caption the microphone live (live.ts).
// Each piece of the page's state has one owner: the form (form.ts), what the server offers (catalog.ts), the job on screen
// (shown-job.ts), its transcript and speakers (transcript.ts), correcting it (editor.ts), several files' jobs at once (queue.ts), Recent (recent.ts), the key prompt (key.ts, key-dialog.ts),
// live captions (live.ts), the interface's language (i18n.ts), the error box and the player (view.ts). This file wires them together.
import { applyLocale, initialLocale, t, type Locale } from './i18n.ts';
import { catalog } from './catalog.ts';
import { download, type DownloadKind } from './exports.ts';
import { jobForm } from './form.ts';
import { link, shownJob } from './shown-job.ts';
import { transcriptView } from './transcript.ts';
import { transcriptEditor } from './editor.ts';
import { recent } from './recent.ts';
import { uploadQueue } from './queue.ts';
import { $, hideError, highlight, redrawError, showError } from './view.ts';
import { setKeyPrompt } from './key.ts';
import { keyDialog } from './key-dialog.ts';
import { wireLive } from './live.ts';

function setLocale(next: Locale): void {
  applyLocale(next);
  $('lang-en').setAttribute('aria-pressed', String(next === 'en'));
  $('lang-ru').setAttribute('aria-pressed', String(next === 'ru'));
  jobForm.fillModels();
  jobForm.fillLanguages();
  jobForm.redrawFiles();
  uploadQueue.redraw();
  recent.fillModels();
  recent.render();
  shownJob.redraw();
  transcriptView.redraw();
  transcriptEditor.redraw();
  redrawError();
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

function wire(): void {
  $('cancel').addEventListener('click', () => void shownJob.cancel());
  $('lang-en').addEventListener('click', () => setLocale('en'));
  $('lang-ru').addEventListener('click', () => setLocale('ru'));
  $('theme').addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme === 'dark' || (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    document.documentElement.dataset.theme = dark ? 'light' : 'dark';
    localStorage.setItem('whisper.theme', document.documentElement.dataset.theme);
  });
  $('copy').addEventListener('click', async () => {
    const text = shownJob.current?.result?.text;
    if (text !== undefined && (await copy(text))) flash('copy', 'copied', 'copy');
  });
  $('copy-link').addEventListener('click', async () => {
    const url = shownJob.shareLink;
    if (url && (await copy(url))) flash('copy-link', 'linkCopied', 'copyLink');
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-download]')) {
    button.addEventListener('click', () => {
      const job = shownJob.current;
      if (!job?.result) return;
      hideError();
      download(job.id, job.filename, button.dataset.download as DownloadKind).catch(showError);
    });
  }
  $('audio').addEventListener('timeupdate', highlight);
  $('video').addEventListener('timeupdate', highlight);
  window.addEventListener('hashchange', () => void shownJob.route());
  const openJob = (id: string) => {
    if (location.hash === link(id)) void shownJob.open(id); // the same address: no hashchange, so open it again here
    else location.hash = link(id);
  };
  recent.onOpen((id, found) => {
    shownJob.find(id, found); // a search's hit: the job opens at the matching line
    openJob(id);
  });
  recent.wire();
  uploadQueue.onOpen(openJob);
  uploadQueue.onMade((job, file) => {
    shownJob.adopt(job.id, file);
    void recent.refresh();
  });
}

const theme = localStorage.getItem('whisper.theme');
if (theme) document.documentElement.dataset.theme = theme;
jobForm.wire();
wire();
wireLive();
keyDialog.wire();
setKeyPrompt((invalid) => keyDialog.ask(invalid)); // before the first call: any of them may find that the server wants a key
setLocale(initialLocale());
void shownJob.route();
void recent.refresh();
catalog
  .loadModels()
  .then(() => {
    jobForm.fillModels();
    recent.fillModels();
  })
  .catch(showError);
catalog
  .loadLanguages()
  .then(() => {
    jobForm.fillLanguages();
    shownJob.redraw();
  })
  .catch(showError);
