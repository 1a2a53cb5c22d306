// The job on screen. The address names it (#/jobs/{id}), so a reload, another
// tab or another device shows the same job, however far it has got: a finished
// one from its record, a waiting or running one by following its events.
import { ApiError } from './api.ts';
import { cancelJob, finished, follow, getJob, renameSpeakers, result, type Job } from './jobs.ts';
import { submitJob } from './upload.ts';
import { t } from './i18n.ts';
import { clock } from './clock.ts';
import { recent, type Found } from './recent.ts';
import { transcriptView } from './transcript.ts';
import { transcriptEditor } from './editor.ts';
import { $, activeMedia, hideError, renderFacts, seek, setCaptions, setProgress, showError, showMedia, type Playable } from './view.ts';
import { withKey } from './key.ts';

/** File names of containers that usually hold a picture: the server's copy of such a job plays as video (one with none moves to audio, view.ts). */
const VIDEO_NAME = /\.(mp4|m4v|mov|webm|mkv|ogv|avi)$/i;

export const link = (id: string) => `#/jobs/${encodeURIComponent(id)}`;

function jobInHash(): string | null {
  const match = /^#\/jobs\/([^/]+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]!) : null;
}

/** A job followed live while it waits or runs: how to stop, and how to draw its progress again. */
interface Following {
  stop(): void;
  redrawProgress(): void;
}

class ShownJob {
  /** The job as last heard. */
  private job: Job | null = null;
  /** The job on screen or being fetched; null while uploading. */
  private id: string | null = null;
  private following: Following | null = null;
  /** The upload of a new job, while it goes. */
  private uploading: { cancel(): void } | null = null;
  /** Where the next open of a job starts (a search's hit), until that job opens. */
  private finding: { id: string; found: Found } | null = null;
  /**
   * What this tab uploaded, by job: played from the tab's own file (nothing to download, and it plays while the
   * job runs). Any other succeeded job plays the audio the server keeps (KEEP_AUDIO; none kept: no player).
   */
  private readonly uploaded = new Map<string, File>();

  get current(): Job | null {
    return this.job;
  }

  /** The job's link, to share. */
  get shareLink(): string | null {
    return this.id ? location.href.split('#')[0] + link(this.id) : null;
  }

  /** A job this tab uploaded elsewhere (the queue, queue.ts): its file plays when the job is opened. */
  adopt(id: string, file: File): void {
    this.uploaded.set(id, file);
  }

  /** Facts and progress again, in the interface's new language. */
  redraw(): void {
    if (this.job) renderFacts(this.job);
    this.following?.redrawProgress();
  }

  /** The next open of job `id` shows it at `found` (null: from the start): the player there, the search's words marked in the line. */
  find(id: string, found: Found | null): void {
    this.finding = found ? { id, found } : null;
  }

  /** Shows the job the address names, unless it is on screen already. */
  async route(): Promise<void> {
    const id = jobInHash();
    if (id !== this.id) await this.open(id);
  }

  async open(id: string | null): Promise<void> {
    this.unfollow();
    hideError();
    this.job = null;
    this.id = id;
    recent.setCurrent(id);
    $('result').hidden = true;
    transcriptView.clear();
    const found = this.finding?.id === id ? this.finding.found : null;
    this.finding = null;
    if (!id) return;
    const job = await this.fetch(id);
    if (!job) return;
    this.show(job);
    if (found) {
      transcriptView.find(found.start, found.words);
      const media = activeMedia();
      if (media) seek(media, found.start);
    }
  }

  /** Uploads `file` as a new job (the upload's progress on the bar), then shows it and puts it in the address. */
  async submit(form: FormData, file: File): Promise<void> {
    if (this.uploading) return;
    await this.open(null);
    $('result').hidden = false;
    delete $('result').dataset.status;
    $('job-name').textContent = file.name;
    $('facts').replaceChildren();
    for (const id of ['job-cancelled', 'no-speech', 'actions']) $(id).hidden = true;
    showMedia(file);
    const upload = submitJob(form, (f) => setProgress(`${t('uploading')} ${Math.round(f * 100)}%`, f));
    this.uploading = upload;
    $<HTMLButtonElement>('start').disabled = true;
    try {
      const job = await upload.done;
      this.uploaded.set(job.id, file);
      this.id = job.id; // before the address changes, so that the route finds it on screen
      recent.setCurrent(job.id);
      location.hash = link(job.id);
      this.show(job);
      void recent.refresh();
    } catch (e) {
      // No job was made: put back what the address names, then say why.
      $('progress').hidden = true;
      await this.route();
      showError(e);
    } finally {
      this.uploading = null;
      $<HTMLButtonElement>('start').disabled = false;
    }
  }

  /** Stops the upload, or cancels the job while it waits or runs. */
  async cancel(): Promise<void> {
    if (this.uploading) return this.uploading.cancel();
    const job = this.job;
    // The same DELETE removes a finished job: never send it for one.
    if (!job || finished(job)) return;
    try {
      const now = await cancelJob(job.id);
      if (this.id !== job.id) return;
      this.unfollow();
      this.show(now);
      void recent.refresh();
    } catch (e) {
      showError(e);
    }
  }

  /** Names a speaker of the job on the server, then shows the job it answers (every turn, every download, by the new name). */
  private async renameSpeaker(id: string, speaker: string, name: string): Promise<void> {
    const job = await renameSpeakers(id, { [speaker]: name });
    if (this.id === id) this.show(job);
  }

  private unfollow(): void {
    this.following?.stop();
    this.following = null;
    $('progress').hidden = true;
  }

  /**
   * The job from the server, if it is still the one on screen when the answer
   * comes (another may have been opened meanwhile); a job that is gone, or a
   * failure to ask, is shown as an error and gives undefined.
   */
  private async fetch(id: string): Promise<Job | undefined> {
    let job: Job | null;
    try {
      job = await getJob(id);
    } catch (e) {
      if (this.id === id) showError(e);
      return undefined;
    }
    if (this.id !== id) return undefined;
    if (!job) {
      $('result').hidden = true;
      showError(new ApiError('job_missing', `no job ${id}`));
      return undefined;
    }
    return job;
  }

  /** Shows what is known of the job; follows it live while it waits or runs. */
  private show(job: Job): void {
    this.job = job;
    const card = $('result');
    card.hidden = false;
    card.dataset.status = job.status;
    $('job-name').textContent = job.filename;
    showMedia(this.playable(job));
    $('job-cancelled').hidden = job.status !== 'cancelled';
    $('no-speech').hidden = true;
    $('actions').hidden = true;
    $('segments').hidden = false;
    renderFacts(job);
    // A succeeded job's speakers are renamed on the server, and the job it answers shown.
    if (job.result) transcriptView.show(job.result, job.status === 'succeeded' ? (speaker, name) => this.renameSpeaker(job.id, speaker, name) : null);
    transcriptEditor.attach(job, (saved) => this.id === saved.id && this.show(saved)); // Edit: a succeeded job's transcript (editor.ts)
    if (job.error) showError(new ApiError(job.error.code, job.error.message));
    if (job.status === 'succeeded' && !$('video').hidden) void this.caption(job);
    if (!finished(job)) this.watch(job);
  }

  /**
   * What the player plays for `job`: this tab's file, else a succeeded job's audio from the server, with the key
   * in its query (an <audio src> sends no header; GET /api/jobs/{id}/audio takes it there); a job that failed
   * has none (its file may not even be media).
   */
  private playable(job: Job): Playable | null {
    if (job.status === 'failed') return null;
    const file = this.uploaded.get(job.id);
    if (file) return file;
    if (!job.audio) return null; // not kept: failed, cancelled, a live session's, or KEEP_AUDIO=false
    return { url: withKey(`/api/jobs/${encodeURIComponent(job.id)}/audio`), video: VIDEO_NAME.test(job.filename) };
  }

  /** A video's captions: the job's WebVTT, as the server renders it now (a rename included). */
  private async caption(job: Job): Promise<void> {
    try {
      const vtt = await result(job.id, 'vtt');
      if (this.id === job.id) setCaptions(vtt, job.result?.language ?? null);
    } catch (e) {
      if (this.id === job.id) showError(e);
    }
  }

  private watch(job: Job): void {
    this.unfollow();
    transcriptView.clear(); // the events replay every segment from the first
    let began = job.started_at ? Date.parse(job.started_at) : null;
    let position = job.position ?? 1;
    let done: [number, number] | null = job.status === 'running' ? [0, 0] : null; // seconds processed, of
    const update = (patch: Partial<Job>) => {
      Object.assign(job, patch);
      $('result').dataset.status = job.status;
      renderFacts(job);
    };
    const redrawProgress = () => {
      if (!done) return setProgress(`${t('waiting')} · #${position} ${t('inLine')}`, 0);
      const [processed, duration] = done;
      const fraction = duration ? processed / duration : 0;
      const elapsed = began === null ? 0 : (Date.now() - began) / 1000;
      const left = fraction > 0 ? (elapsed / fraction) * (1 - fraction) : 0;
      setProgress(`${t('working')} ${Math.round(fraction * 100)}%`, fraction, `${clock(elapsed)} ${t('elapsed')}${fraction > 0 ? ` · ~${clock(left)} ${t('remaining')}` : ''}`);
    };
    redrawProgress();
    const stop = follow(job.id, {
      queued: (at) => ((position = at), redrawProgress()),
      started: () => {
        began ??= Date.now();
        done ??= [0, 0];
        update({ status: 'running' });
        redrawProgress();
        void recent.refresh(); // its line there says so now, not at the next poll
      },
      info: (language, duration, speakers) => {
        update({ language, duration });
        if (speakers) transcriptView.begin(speakers);
      },
      progress: (processed, duration) => ((done = [processed, duration]), redrawProgress()),
      segment: (segment) => transcriptView.add(segment),
      end: () => void this.settle(job.id),
    });
    this.following = { stop, redrawProgress };
  }

  /** The job has finished (or gone): show its final state, read again from the server. */
  private async settle(id: string): Promise<void> {
    this.following = null;
    void recent.refresh();
    const job = await this.fetch(id);
    if (this.id === id) $('progress').hidden = true;
    if (job) this.show(job);
  }
}

export const shownJob = new ShownJob();
