// Recent jobs, from the server: the same list in every browser, and jobs
// submitted through the API too.
import { finished, listJobs, type Job } from './jobs.ts';
import { activeLocale, t } from './i18n.ts';
import { clock } from './exports.ts';
import { $ } from './view.ts';

const LIMIT = 20;
const POLL_MS = 3000; // while a listed job waits or runs, so that its status stays true
let jobs: Job[] = [];
let drawn = '';
let current: string | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let open: (id: string) => void = () => {};

export function onOpen(handler: (id: string) => void): void {
  open = handler;
}

export async function refreshRecent(): Promise<void> {
  clearTimeout(timer);
  try {
    jobs = await listJobs(LIMIT);
  } catch {
    // Keep the last list: the list is secondary, and the page reports a dead server elsewhere.
  }
  // Redrawn only when something changed: a poll must not swap a button under the pointer.
  const now = JSON.stringify(jobs.map((j) => [j.id, j.status, j.duration]));
  if (now !== drawn) renderRecent();
  if (jobs.some((j) => !finished(j))) timer = setTimeout(() => void refreshRecent(), POLL_MS);
}

/** Marks the job on screen in the list. */
export function setCurrent(id: string | null): void {
  current = id;
  for (const button of document.querySelectorAll<HTMLButtonElement>('#recent button')) {
    if (button.dataset.id === id) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
}

export function renderRecent(): void {
  drawn = JSON.stringify(jobs.map((j) => [j.id, j.status, j.duration]));
  const list = $('recent');
  if (!jobs.length) {
    const empty = document.createElement('li');
    empty.className = 'muted';
    empty.textContent = t('noRecent');
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(...jobs.map(item));
  setCurrent(current);
}

function item(job: Job): HTMLLIElement {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.dataset.id = job.id;
  button.dataset.status = job.status;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = job.filename;
  const when = document.createElement('small');
  const parts = [new Date(job.created_at).toLocaleString(activeLocale())];
  if (job.duration !== null) parts.push(clock(job.duration));
  if (job.status !== 'succeeded') parts.unshift(t(`status_${job.status}`));
  when.textContent = parts.join(' · ');
  button.append(name, when);
  button.addEventListener('click', () => open(job.id));
  li.append(button);
  return li;
}
