// Many files at once: each becomes its own job, listed under the form with its own
// progress (the upload's, then the job's, polled) and its own Cancel; a job is
// opened by a click on its name once the server has it, while the others go on.
// The uploads go one after another, the jobs then wait in the server's queue.
// One file alone keeps the page's usual flow (shown-job.ts); this is only for several.
import { ApiError } from './api.ts';
import { cancelJob, finished, getJob, type Job } from './jobs.ts';
import { errorText, t } from './i18n.ts';
import { submitJob } from './upload.ts';
import { $ } from './view.ts';

const POLL_MS = 1000;

/** One file of the queue, from its upload to its job's end. */
interface Entry {
  readonly file: File;
  readonly form: FormData;
  /** waiting: its upload has not begun; uploading; job: the server has it (see `job`); error: no job was made; cancelled before its job existed. */
  state: 'waiting' | 'uploading' | 'job' | 'error' | 'cancelled';
  fraction: number;
  job: Job | null;
  error: ApiError | null;
  upload: { cancel(): void } | null;
  readonly item: HTMLLIElement;
}

class UploadQueue {
  private readonly entries: Entry[] = [];
  private uploading = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** What a click on a job does (the page sets it). */
  private open: (id: string) => void = () => {};
  /** Told of each job made, with its file (so the page can play it). */
  private made: (job: Job, file: File) => void = () => {};

  onOpen(handler: (id: string) => void): void {
    this.open = handler;
  }

  onMade(handler: (job: Job, file: File) => void): void {
    this.made = handler;
  }

  /** Queues each file as its own job, `form` holding the fields every job gets (its file is set here). */
  add(files: File[], form: FormData): void {
    for (const file of files) {
      const fields = new FormData();
      for (const [name, value] of form.entries()) if (name !== 'file') fields.append(name, value);
      fields.set('file', file, file.name);
      const item = document.createElement('li');
      const entry: Entry = { file, form: fields, state: 'waiting', fraction: 0, job: null, error: null, upload: null, item };
      this.entries.push(entry);
      this.build(entry);
      $('queue-list').append(item);
    }
    $('queue').hidden = false;
    void this.uploadNext();
  }

  /** Every line again, in the interface's new language. */
  redraw(): void {
    for (const entry of this.entries) this.draw(entry);
  }

  private async uploadNext(): Promise<void> {
    if (this.uploading) return;
    const entry = this.entries.find((e) => e.state === 'waiting');
    if (!entry) return;
    this.uploading = true;
    entry.state = 'uploading';
    this.draw(entry);
    const upload = submitJob(entry.form, (fraction) => {
      entry.fraction = fraction;
      this.draw(entry);
    });
    entry.upload = upload;
    try {
      entry.job = await upload.done;
      entry.state = 'job';
      this.made(entry.job, entry.file);
      this.poll();
    } catch (e) {
      entry.error = e instanceof ApiError ? e : new ApiError('network', String(e));
      entry.state = entry.error.code === 'cancelled' ? 'cancelled' : 'error';
    } finally {
      entry.upload = null;
      this.uploading = false;
    }
    this.draw(entry);
    void this.uploadNext();
  }

  /** Reads again every job that waits or runs, until none does. */
  private poll(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      const active = this.entries.filter((e) => e.job && !finished(e.job));
      await Promise.all(
        active.map(async (entry) => {
          try {
            const job = await getJob(entry.job!.id);
            if (!job) entry.error = new ApiError('job_missing', 'gone');
            else if (!finished(entry.job!)) entry.job = job; // not over a cancel's answer
          } catch {
            // A missed poll: the next one asks again.
          }
          this.draw(entry);
        }),
      );
      if (this.entries.some((e) => e.job && !finished(e.job) && !e.error)) this.poll();
    }, POLL_MS);
  }

  private async cancel(entry: Entry): Promise<void> {
    if (entry.state === 'waiting') {
      entry.state = 'cancelled';
      return this.draw(entry);
    }
    if (entry.state === 'uploading') return entry.upload?.cancel();
    const job = entry.job;
    // The same DELETE removes a finished job: never send it for one.
    if (!job || finished(job)) return;
    try {
      entry.job = await cancelJob(job.id);
    } catch (e) {
      // 409: it finished meanwhile; the next poll says how.
      if (!(e instanceof ApiError && e.code === 'job_finished')) entry.error = e instanceof ApiError ? e : new ApiError('network', String(e));
      entry.job = (await getJob(job.id).catch(() => null)) ?? job;
    }
    this.draw(entry);
  }

  private build(entry: Entry): void {
    const { item } = entry;
    const name = document.createElement('button');
    name.type = 'button';
    name.className = 'queue-name';
    name.textContent = entry.file.name;
    name.addEventListener('click', () => entry.job && this.open(entry.job.id));
    const state = document.createElement('span');
    state.className = 'queue-state muted';
    const meter = document.createElement('div');
    meter.className = 'meter';
    meter.append(document.createElement('div'));
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'link queue-cancel';
    cancel.addEventListener('click', () => void this.cancel(entry));
    item.append(name, state, meter, cancel);
    this.draw(entry);
  }

  /** The line's status, meter and buttons as the entry stands. */
  private draw(entry: Entry): void {
    const { item, job } = entry;
    const [name, state, meter, cancel] = item.children as unknown as [HTMLButtonElement, HTMLSpanElement, HTMLDivElement, HTMLButtonElement];
    let status: string = entry.state;
    let text: string;
    let fraction = 0;
    if (entry.state === 'waiting') text = t('waitingUpload');
    else if (entry.state === 'uploading') {
      fraction = entry.fraction;
      text = `${t('uploading')} ${Math.round(fraction * 100)}%`;
    } else if (entry.state === 'cancelled') text = t('status_cancelled');
    else if (entry.state === 'error' || !job) {
      status = 'failed';
      text = errorText(entry.error?.code ?? '') ?? `${t('err_other')} ${entry.error?.message ?? ''}`;
    } else {
      status = job.status;
      if (job.status === 'queued') text = job.position ? `${t('status_queued')} · #${job.position} ${t('inLine')}` : t('status_queued');
      else if (job.status === 'running') {
        const progress = job.progress;
        fraction = progress && progress.duration ? progress.processed / progress.duration : 0;
        text = `${t('working')} ${Math.round(fraction * 100)}%`;
      } else {
        fraction = job.status === 'succeeded' ? 1 : 0;
        text = t(`status_${job.status}`);
        if (job.status === 'failed' && job.error) text += ` · ${errorText(job.error.code) ?? job.error.message}`;
      }
    }
    item.dataset.status = status;
    if (job) item.dataset.id = job.id;
    name.disabled = !job;
    name.title = job ? t('openJob') : '';
    state.textContent = text;
    (meter.firstElementChild as HTMLElement).style.width = `${Math.round(fraction * 100)}%`;
    meter.hidden = status !== 'uploading' && status !== 'running';
    const over = status === 'succeeded' || status === 'failed' || status === 'cancelled';
    cancel.hidden = over;
    cancel.textContent = t('cancel');
    cancel.setAttribute('aria-label', `${t('cancel')}: ${entry.file.name}`);
  }
}

export const uploadQueue = new UploadQueue();
