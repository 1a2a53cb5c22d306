// The job on screen. The address names it (#/jobs/{id}), so a reload, another
// tab or another device shows the same job, however far it has got: a finished
// one from its record, a waiting or running one by following its events.
import { ApiError } from './api.ts';
import { cancelJob, finished, follow, getJob, type Job } from './jobs.ts';
import { submitJob } from './upload.ts';
import { t } from './i18n.ts';
import { clock } from './exports.ts';
import { refreshRecent, setCurrent } from './recent.ts';
import { $, hideError, renderFacts, segmentItem, setProgress, showError, showMedia, showTranscript } from './view.ts';

let shown: Job | null = null; // as last heard
let shownId: string | null = null; // on screen or being fetched; null while uploading
let stopFollowing: (() => void) | null = null;
let redrawProgress: (() => void) | null = null;
let uploading: { cancel(): void } | null = null;
// What this tab uploaded, by job: the server deletes the audio once a job ends, so only these can play.
const uploaded = new Map<string, File>();

export const link = (id: string) => `#/jobs/${encodeURIComponent(id)}`;
export const shownJob = () => shown;

/** The job's link, to share. */
export const shownLink = () => (shownId ? location.href.split('#')[0] + link(shownId) : null);

/** Facts and progress again, in the interface's new language. */
export function redrawJob(): void {
  if (shown) renderFacts(shown);
  redrawProgress?.();
}

function stop(): void {
  stopFollowing?.();
  stopFollowing = redrawProgress = null;
  $('progress').hidden = true;
}

function jobInHash(): string | null {
  const match = /^#\/jobs\/([^/]+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]!) : null;
}

/** Shows the job the address names, unless it is on screen already. */
export async function route(): Promise<void> {
  const id = jobInHash();
  if (id !== shownId) await openJob(id);
}

export async function openJob(id: string | null): Promise<void> {
  stop();
  hideError();
  shown = null;
  shownId = id;
  setCurrent(id);
  $('result').hidden = true;
  $('segments').replaceChildren();
  if (!id) return;
  const job = await fetchShown(id);
  if (job) show(job);
}

/**
 * The job from the server, if it is still the one on screen when the answer
 * comes (another may have been opened meanwhile); a job that is gone, or a
 * failure to ask, is shown as an error and gives undefined.
 */
async function fetchShown(id: string): Promise<Job | undefined> {
  let job: Job | null;
  try {
    job = await getJob(id);
  } catch (e) {
    if (shownId === id) showError(e);
    return undefined;
  }
  if (shownId !== id) return undefined;
  if (!job) {
    $('result').hidden = true;
    showError(new ApiError('job_missing', `no job ${id}`));
    return undefined;
  }
  return job;
}

/** Shows what is known of the job; follows it live while it waits or runs. */
function show(job: Job): void {
  shown = job;
  const card = $('result');
  card.hidden = false;
  card.dataset.status = job.status;
  $('job-name').textContent = job.filename;
  showMedia(job.status === 'failed' ? null : (uploaded.get(job.id) ?? null)); // a file that failed may not even be media
  $('job-cancelled').hidden = job.status !== 'cancelled';
  $('no-speech').hidden = true;
  $('actions').hidden = true;
  $('segments').hidden = false;
  renderFacts(job);
  if (job.result) showTranscript(job.result);
  if (job.error) showError(new ApiError(job.error.code, job.error.message));
  if (!finished(job)) watch(job);
}

function watch(job: Job): void {
  stop();
  $('segments').replaceChildren(); // the events replay every segment from the first
  let began = job.started_at ? Date.parse(job.started_at) : null;
  let position = job.position ?? 1;
  let done: [number, number] | null = job.status === 'running' ? [0, 0] : null; // seconds processed, of
  const update = (patch: Partial<Job>) => {
    Object.assign(job, patch);
    $('result').dataset.status = job.status;
    renderFacts(job);
  };
  redrawProgress = () => {
    if (!done) return setProgress(`${t('waiting')} · #${position} ${t('inLine')}`, 0);
    const [processed, duration] = done;
    const fraction = duration ? processed / duration : 0;
    const elapsed = began === null ? 0 : (Date.now() - began) / 1000;
    const left = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : 0;
    setProgress(`${t('working')} ${Math.round(fraction * 100)}%`, fraction, `${clock(elapsed)} ${t('elapsed')}${fraction > 0 ? ` · ~${clock(left)} ${t('remaining')}` : ''}`);
  };
  redrawProgress();
  const redraw = () => redrawProgress?.();
  stopFollowing = follow(job.id, {
    queued: (at) => ((position = at), redraw()),
    started: () => {
      began ??= Date.now();
      done ??= [0, 0];
      update({ status: 'running' });
      redraw();
      void refreshRecent(); // its line there says so now, not at the next poll
    },
    info: (language, duration) => update({ language, duration }),
    progress: (processed, duration) => ((done = [processed, duration]), redraw()),
    segment: (segment) => $('segments').append(segmentItem(segment)),
    end: () => void settle(job.id),
  });
}

/** The job has finished (or gone): show its final state, read again from the server. */
async function settle(id: string): Promise<void> {
  stopFollowing = redrawProgress = null;
  void refreshRecent();
  const job = await fetchShown(id);
  if (shownId === id) $('progress').hidden = true;
  if (job) show(job);
}

/** Uploads `file` as a new job (the upload's progress on the bar), then shows it and puts it in the address. */
export async function submit(form: FormData, file: File): Promise<void> {
  if (uploading) return;
  await openJob(null);
  $('result').hidden = false;
  delete $('result').dataset.status;
  $('job-name').textContent = file.name;
  $('facts').replaceChildren();
  for (const id of ['job-cancelled', 'no-speech', 'actions']) $(id).hidden = true;
  showMedia(file);
  const upload = submitJob(form, (f) => setProgress(`${t('uploading')} ${Math.round(f * 100)}%`, f));
  uploading = upload;
  $<HTMLButtonElement>('start').disabled = true;
  try {
    const job = await upload.done;
    uploaded.set(job.id, file);
    shownId = job.id; // before the address changes, so that the route finds it on screen
    setCurrent(job.id);
    location.hash = link(job.id);
    show(job);
    void refreshRecent();
  } catch (e) {
    // No job was made: put back what the address names, then say why.
    $('progress').hidden = true;
    await route();
    showError(e);
  } finally {
    uploading = null;
    $<HTMLButtonElement>('start').disabled = false;
  }
}

/** Stops the upload, or cancels the job while it waits or runs. */
export async function cancel(): Promise<void> {
  if (uploading) return uploading.cancel();
  const job = shown;
  // The same DELETE removes a finished job: never send it for one.
  if (!job || finished(job)) return;
  try {
    const now = await cancelJob(job.id);
    if (shownId !== job.id) return;
    stop();
    show(now);
    void refreshRecent();
  } catch (e) {
    showError(e);
  }
}
