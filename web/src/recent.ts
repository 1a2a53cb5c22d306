// Recent jobs, from the server: the same list in every browser, and jobs
// submitted through the API too.
import { finished, listJobs, type Job } from './jobs.ts';
import { activeLocale, t } from './i18n.ts';
import { clock } from './exports.ts';
import { $ } from './view.ts';

const LIMIT = 20;
const POLL_MS = 3000; // while a listed job waits or runs, so that its status stays true

/** What is drawn of a list: a poll redraws only when it changed. */
const drawing = (jobs: Job[]) => JSON.stringify(jobs.map((j) => [j.id, j.status, j.duration]));

class RecentJobs {
  /** As the server last listed them. */
  private jobs: Job[] = [];
  /** drawing() of the list on screen. */
  private drawn = '';
  /** The job on screen, marked in the list. */
  private current: string | null = null;
  /** The next poll, while a listed job waits or runs. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** What a click on a job does (the page sets it). */
  private open: (id: string) => void = () => {};

  onOpen(handler: (id: string) => void): void {
    this.open = handler;
  }

  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    try {
      this.jobs = await listJobs(LIMIT);
    } catch {
      // Keep the last list: the list is secondary, and the page reports a dead server elsewhere.
    }
    // Redrawn only when something changed: a poll must not swap a button under the pointer.
    if (drawing(this.jobs) !== this.drawn) this.render();
    if (this.jobs.some((j) => !finished(j))) this.timer = setTimeout(() => void this.refresh(), POLL_MS);
  }

  /** Marks the job on screen in the list. */
  setCurrent(id: string | null): void {
    this.current = id;
    for (const button of document.querySelectorAll<HTMLButtonElement>('#recent button')) {
      if (button.dataset.id === id) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    }
  }

  render(): void {
    this.drawn = drawing(this.jobs);
    const list = $('recent');
    if (!this.jobs.length) {
      const empty = document.createElement('li');
      empty.className = 'muted';
      empty.textContent = t('noRecent');
      list.replaceChildren(empty);
      return;
    }
    list.replaceChildren(...this.jobs.map((job) => this.item(job)));
    this.setCurrent(this.current);
  }

  private item(job: Job): HTMLLIElement {
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
    button.addEventListener('click', () => this.open(job.id));
    li.append(button);
    return li;
  }
}

export const recent = new RecentJobs();
