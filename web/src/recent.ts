// Recent jobs, from the server: the same list in every browser, and jobs
// submitted through the API too. A search box (the server's search of every
// transcript and file name) and filters (status, model, date) narrow it; each
// hit lists its matching lines, which open the job at that line. Pages after
// the first come with "Load more"; finished jobs can be deleted, one or several.
import { deleteJob, finished, pageJobs, type JobQuery, type ListedJob, type Match } from './jobs.ts';
import { activeLocale, t } from './i18n.ts';
import { catalog } from './catalog.ts';
import { clock } from './clock.ts';
import { excerpt, marked, queryWords, type Words } from './matches.ts';
import { $, showError } from './view.ts';

const LIMIT = 20;
const POLL_MS = 3000; // while a listed job waits or runs, so that its status stays true
const TYPING_MS = 300; // the search waits this long after the last key

/** Where a hit opens its job: the player there, the search's words marked in the line. */
export interface Found {
  start: number;
  end: number;
  words: Words;
}

/** What is drawn of a list: a poll redraws only when it changed. */
const drawing = (key: string, next: string | null, jobs: ListedJob[]) =>
  JSON.stringify([key, next, jobs.map((j) => [j.id, j.status, j.duration, j.matches?.map((m) => m.segment_id)])]);

/** `since` for the date menu's choice: today (from local midnight) or the last N days. */
function since(choice: string): string | undefined {
  if (!choice) return undefined;
  const date = new Date();
  if (choice === 'today') date.setHours(0, 0, 0, 0);
  else date.setDate(date.getDate() - Number(choice));
  return date.toISOString();
}

class RecentJobs {
  /** As the server last listed them, every page loaded so far. */
  private jobs: ListedJob[] = [];
  /** The next page's cursor, or null at the end. */
  private next: string | null = null;
  /** The query the list on screen answers (JSON). */
  private shownKey = '';
  /** drawing() of the list on screen. */
  private drawn = '';
  /** How many jobs the last deletion deleted, said until the query changes. */
  private deleted = 0;
  /** The jobs ticked for deletion. */
  private readonly selected = new Set<string>();
  /** Counts the list's reloads: an answer to an older one is dropped. */
  private generation = 0;
  /** The job on screen, marked in the list. */
  private current: string | null = null;
  /** The next poll, while a listed job waits or runs. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private typing: ReturnType<typeof setTimeout> | undefined;
  /** What a click on a job or a hit does (the page sets it). */
  private open: (id: string, found: Found | null) => void = () => {};

  onOpen(handler: (id: string, found: Found | null) => void): void {
    this.open = handler;
  }

  /** The search box, the filters, the bulk delete and "Load more" (once, at start). */
  wire(): void {
    const search = $<HTMLInputElement>('search');
    search.addEventListener('input', () => {
      clearTimeout(this.typing);
      this.typing = setTimeout(() => void this.refresh(), TYPING_MS);
    });
    $('history-search').addEventListener('submit', (e) => {
      e.preventDefault();
      clearTimeout(this.typing);
      void this.refresh();
    });
    for (const id of ['filter-status', 'filter-model', 'filter-date']) $(id).addEventListener('change', () => void this.refresh());
    $('select-all').addEventListener('change', () => {
      const all = $<HTMLInputElement>('select-all').checked;
      for (const job of this.jobs) if (finished(job)) all ? this.selected.add(job.id) : this.selected.delete(job.id);
      this.syncSelection();
    });
    $('delete-selected').addEventListener('click', () => void this.remove([...this.selected], null));
    $('load-more').addEventListener('click', () => void this.more());
  }

  /** The model filter's menu: the server's models (once its list has come, and in the interface's language). */
  fillModels(): void {
    const select = $<HTMLSelectElement>('filter-model');
    const chosen = select.value;
    select.replaceChildren(new Option(t('anyModel'), ''), ...catalog.models.map((m) => new Option(m.name, m.name, false, m.name === chosen)));
  }

  private query(): JobQuery {
    const q = $<HTMLInputElement>('search').value.trim().slice(0, 200);
    const status = $<HTMLSelectElement>('filter-status').value as JobQuery['status'] | '';
    const model = $<HTMLSelectElement>('filter-model').value;
    return { q: q || undefined, status: status || undefined, model: model || undefined, since: since($<HTMLSelectElement>('filter-date').value) };
  }

  /** The key of a query, its date as the menu's choice (a poll's `since` moves on with the clock). */
  private keyOf(query: JobQuery): string {
    return JSON.stringify({ ...query, since: $<HTMLSelectElement>('filter-date').value });
  }

  /** The list again from its first page: as many jobs as are shown (a poll, a new job), or the first page of a new query. */
  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    const generation = ++this.generation;
    const query = this.query();
    const key = this.keyOf(query);
    const limit = key === this.shownKey ? Math.min(100, Math.max(LIMIT, this.jobs.length)) : LIMIT;
    try {
      const page = await pageJobs({ ...query, limit });
      if (generation !== this.generation) return;
      if (key !== this.shownKey) this.deleted = 0;
      this.jobs = page.jobs;
      this.next = page.next_cursor;
      this.shownKey = key;
    } catch {
      // Keep the last list: the list is secondary, and the page reports a dead server elsewhere.
      if (generation !== this.generation) return;
    }
    this.settle();
  }

  /** The next page of the same query, after those shown. */
  private async more(): Promise<void> {
    if (!this.next) return;
    const generation = this.generation;
    const shown = this.jobs.length;
    const button = $<HTMLButtonElement>('load-more');
    button.disabled = true;
    try {
      const page = await pageJobs({ ...this.query(), limit: LIMIT, cursor: this.next });
      if (generation !== this.generation) return;
      const ids = new Set(this.jobs.map((j) => j.id));
      this.jobs.push(...page.jobs.filter((j) => !ids.has(j.id)));
      this.next = page.next_cursor;
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
    if (generation !== this.generation) return;
    this.settle();
    // The keyboard goes on from the first new job (the button may be gone now).
    document.querySelector<HTMLElement>(`#recent > li:nth-child(${shown + 1}) button.open`)?.focus();
  }

  /** After a new list: drawn if it changed, ticks only on jobs still listed, a poll while one waits or runs. */
  private settle(): void {
    clearTimeout(this.timer);
    const listed = new Set(this.jobs.filter(finished).map((j) => j.id));
    for (const id of this.selected) if (!listed.has(id)) this.selected.delete(id);
    if (drawing(this.shownKey, this.next, this.jobs) !== this.drawn) this.render();
    if (this.jobs.some((j) => !finished(j))) this.timer = setTimeout(() => void this.refresh(), POLL_MS);
  }

  /** Deletes the jobs `ids` (finished ones) after asking; `name`: the one job's name, when one is deleted by its own button. */
  private async remove(ids: string[], name: string | null): Promise<void> {
    if (!ids.length) return;
    const question = name === null ? t('confirmDelete').replace('{n}', String(ids.length)) : t('confirmDeleteOne').replace('{name}', name);
    if (!confirm(question)) return;
    const results = await Promise.allSettled(ids.map((id) => deleteJob(id)));
    const gone = new Set(ids.filter((_, i) => results[i]!.status === 'fulfilled'));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) showError(failed.reason);
    for (const id of gone) this.selected.delete(id);
    this.jobs = this.jobs.filter((j) => !gone.has(j.id));
    if (this.current && gone.has(this.current)) location.hash = ''; // the job on screen is gone: nothing is shown
    this.deleted = gone.size;
    this.render();
    if (document.activeElement === document.body || !document.activeElement?.isConnected) $('search').focus();
    void this.refresh(); // the page fills up again from the server
  }

  /** Marks the job on screen in the list. */
  setCurrent(id: string | null): void {
    this.current = id;
    for (const button of document.querySelectorAll<HTMLButtonElement>('#recent button.open')) {
      if (button.dataset.id === id) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    }
  }

  render(): void {
    this.drawn = drawing(this.shownKey, this.next, this.jobs);
    const list = $('recent');
    // A redraw keeps the keyboard where it was: on the same control of the same job.
    const focused = document.activeElement instanceof HTMLElement && list.contains(document.activeElement) ? document.activeElement.dataset.focus : undefined;
    const query = JSON.parse(this.shownKey || '{}') as JobQuery & { since?: string };
    const filtered = Boolean(query.q || query.status || query.model || query.since);
    const status = $('recent-status');
    if (query.q) status.textContent = this.jobs.length ? t('found').replace('{n}', `${this.jobs.length}${this.next ? '+' : ''}`) : t('nothingFound');
    else if (filtered && !this.jobs.length) status.textContent = t('nothingFound');
    else status.textContent = this.deleted ? t('deleted').replace('{n}', String(this.deleted)) : '';
    if (!this.jobs.length) {
      const empty = document.createElement('li');
      empty.className = 'muted';
      empty.textContent = filtered ? t('nothingFound') : t('noRecent');
      list.replaceChildren(empty);
    } else {
      const words = queryWords(query.q ?? '');
      list.replaceChildren(...this.jobs.map((job) => this.item(job, words)));
    }
    $('load-more').hidden = !this.next;
    $('bulk').hidden = !this.jobs.some(finished);
    this.setCurrent(this.current);
    this.syncSelection();
    if (focused) list.querySelector<HTMLElement>(`[data-focus="${CSS.escape(focused)}"]`)?.focus();
  }

  /** The ticks, "select all" and the bulk button as the selection stands. */
  private syncSelection(): void {
    for (const box of document.querySelectorAll<HTMLInputElement>('#recent input.pick')) box.checked = this.selected.has(box.value);
    const deletable = this.jobs.filter(finished).length;
    const all = $<HTMLInputElement>('select-all');
    all.checked = deletable > 0 && this.selected.size === deletable;
    all.indeterminate = this.selected.size > 0 && this.selected.size < deletable;
    const button = $<HTMLButtonElement>('delete-selected');
    button.textContent = t('deleteSelected').replace('{n}', String(this.selected.size));
    button.disabled = this.selected.size === 0;
  }

  private item(job: ListedJob, words: Words): HTMLLIElement {
    const li = document.createElement('li');
    li.className = 'job';
    const main = document.createElement('div');
    main.className = 'job-main';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'open';
    button.dataset.id = job.id;
    button.dataset.status = job.status;
    button.dataset.focus = `open:${job.id}`;
    const name = document.createElement('span');
    name.className = 'name';
    name.replaceChildren(...(words.prefix ? marked(job.filename, words) : [document.createTextNode(job.filename)]));
    const when = document.createElement('small');
    const parts = [new Date(job.created_at).toLocaleString(activeLocale())];
    if (job.duration !== null) parts.push(clock(job.duration));
    if (job.status !== 'succeeded') parts.unshift(t(`status_${job.status}`));
    when.textContent = parts.join(' · ');
    button.append(name, when);
    const first = job.matches?.[0];
    button.addEventListener('click', () => this.open(job.id, first ? this.found(first, words) : null));
    main.append(button);
    if (job.matches?.length) {
      const hits = document.createElement('ul');
      hits.className = 'hits';
      hits.setAttribute('aria-label', t('matchesIn').replace('{name}', job.filename));
      hits.append(...job.matches.map((match, i) => this.hit(job, match, i, words)));
      main.append(hits);
    }
    if (!finished(job)) {
      li.append(main);
      return li;
    }
    const pick = document.createElement('input');
    pick.type = 'checkbox';
    pick.className = 'pick';
    pick.value = job.id;
    pick.dataset.focus = `pick:${job.id}`;
    pick.setAttribute('aria-label', t('selectJob').replace('{name}', job.filename));
    pick.addEventListener('change', () => {
      if (pick.checked) this.selected.add(job.id);
      else this.selected.delete(job.id);
      this.syncSelection();
    });
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'delete';
    remove.dataset.focus = `delete:${job.id}`;
    const label = t('deleteJob').replace('{name}', job.filename);
    remove.setAttribute('aria-label', label);
    remove.title = label;
    remove.textContent = '✕';
    remove.addEventListener('click', () => void this.remove([job.id], job.filename));
    li.append(pick, main, remove);
    return li;
  }

  /** A matching line: its time and its text, the search's words marked; it opens the job there. */
  private hit(job: ListedJob, match: Match, index: number, words: Words): HTMLLIElement {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'hit';
    button.dataset.start = String(match.start);
    button.dataset.focus = `hit:${job.id}:${index}`;
    const time = document.createElement('time');
    time.textContent = clock(match.start);
    const text = document.createElement('span');
    text.append(...marked(excerpt(match.text.trim(), words), words));
    button.append(time, ' ', text);
    button.addEventListener('click', () => this.open(job.id, this.found(match, words)));
    li.append(button);
    return li;
  }

  private found(match: Match, words: Words): Found {
    return { start: match.start, end: match.end, words };
  }
}

export const recent = new RecentJobs();
