// The form for a new job: the file (picked, dropped or recorded), the model and
// language menus from what the server offers (catalog.ts), who speaks (off,
// found automatically, or a number of speakers), and the decoding options,
// which take their bounds from the gateway's schema. Several files picked or
// dropped at once go to the queue (queue.ts), each its own job; one file is shown here.
import { catalog } from './catalog.ts';
import { JOB_FIELD_BOUNDS } from './generated/job-fields.ts';
import { languageName, activeLocale, t } from './i18n.ts';
import type { SessionOptions } from './realtime.ts';
import { uploadQueue } from './queue.ts';
import { record, type Recording } from './recorder.ts';
import { shownJob } from './shown-job.ts';
import { $, hideError, showError } from './view.ts';

const form = () => $<HTMLFormElement>('form');

class JobForm {
  /** The files to transcribe, once picked, dropped or recorded: one is shown as its job, several go to the queue. */
  private files: File[] = [];
  /** The microphone's recording, while Record is on. */
  private recording: Recording | null = null;

  wire(): void {
    const drop = $('drop');
    $<HTMLInputElement>('file').addEventListener('change', (e) => {
      const picked = [...((e.target as HTMLInputElement).files ?? [])];
      if (picked.length) this.choose(picked);
    });
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const picked = [...(e.dataTransfer?.files ?? [])];
      if (picked.length) this.choose(picked);
    });
    form().addEventListener('submit', (e) => this.start(e));
    $('record').addEventListener('click', () => void this.toggleRecording());
    $('speakers').addEventListener('change', () => this.showSpeakerCount());
    $('vad-filter').addEventListener('change', () => this.showVadTuning());
    applyBounds();
    this.showSpeakerCount();
    this.showVadTuning();
  }

  /** The model menu, from the server's list; the server's default chosen until the user chooses. */
  fillModels(): void {
    const select = $<HTMLSelectElement>('model');
    const chosen = select.value || catalog.defaultModel;
    select.replaceChildren(
      ...catalog.models.map((m) => {
        const note = m.loaded ? ` · ${t('loaded')}` : m.available ? '' : ` · ${t('notAvailable')}`;
        // The team's own models have names that say nothing of it: the model's own files do.
        const english = m.multilingual === false ? ` · ${t('englishOnly')}` : '';
        const option = new Option(m.name + english + note, m.name, false, m.name === chosen);
        option.disabled = !m.available;
        return option;
      }),
    );
  }

  /** The language menu, named and sorted in the interface's language. */
  fillLanguages(): void {
    const select = $<HTMLSelectElement>('language');
    const chosen = select.value;
    const options = catalog.languages.map(({ code, name }) => [code, languageName(code, name)] as const).sort((a, b) => a[1].localeCompare(b[1], activeLocale()));
    select.replaceChildren(new Option(t('auto'), 'auto'), ...options.map(([code, name]) => new Option(name, code, false, code === chosen)));
  }

  /** The model, language and prompt chosen, as for an upload: live captions take them too. */
  liveOptions(): SessionOptions {
    const fields = new FormData(form());
    const value = (name: string) => String(fields.get(name) ?? '').trim() || null;
    const language = value('language');
    return { model: value('model'), language: language === 'auto' ? null : language, prompt: value('prompt') };
  }

  /** "More…" speakers: the number field (up to the server's maximum), enabled and sent only then. */
  private showSpeakerCount(): void {
    const more = $<HTMLSelectElement>('speakers').value === 'more';
    const count = $<HTMLInputElement>('num-speakers');
    $('speakers-count').hidden = !more;
    count.disabled = !more;
    if (more && !count.value) count.value = '11';
  }

  /** The VAD's knobs tune a VAD that is on: off, they are disabled, so they are not sent (the server refuses them with vad_filter=false). */
  private showVadTuning(): void {
    const on = $<HTMLInputElement>('vad-filter').checked;
    for (const input of form().querySelectorAll<HTMLInputElement>('.vad-tuning')) input.disabled = !on;
  }

  private choose(picked: File[]): void {
    this.files = picked;
    this.redrawFiles();
    $<HTMLButtonElement>('start').disabled = false;
  }

  /** The chosen file's name; for several, how many and their names (in the interface's language). */
  redrawFiles(): void {
    const files = this.files;
    $('file-name').textContent = files.length > 1 ? `${t('filesChosen').replace('{n}', String(files.length))}: ${files.map((f) => f.name).join(', ')}` : (files[0]?.name ?? '');
  }

  private start(event: SubmitEvent): void {
    event.preventDefault();
    const files = this.files;
    const file = files[0];
    if (!file) return;
    const fields = new FormData(form());
    fields.set('file', file, file.name);
    // An unticked box sends nothing, which would leave the worker's default (on): say false.
    for (const flag of ['vad_filter', 'condition_on_previous_text']) if (!fields.has(flag)) fields.set(flag, 'false');
    // An empty box is no choice: the server's default stands.
    for (const [name, value] of [...fields.entries()]) if (value === '') fields.delete(name);
    // Speakers: off sends nothing; automatic asks for diarization; a number asks for exactly that many (the number field for "More…").
    const speakers = $<HTMLSelectElement>('speakers').value;
    if (speakers) fields.set('diarize', 'true');
    if (/^\d+$/.test(speakers)) fields.set('num_speakers', speakers);
    if (files.length > 1) uploadQueue.add(files, fields);
    else void shownJob.submit(fields, file);
  }

  private async toggleRecording(): Promise<void> {
    const button = $('record');
    if (this.recording) {
      this.choose([await this.recording.stop()]);
      this.recording = null;
      $<HTMLButtonElement>('live').disabled = false;
      button.classList.remove('on');
      $('record-label').dataset.i18n = 'record';
    } else {
      hideError();
      try {
        this.recording = await record();
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
}

type Bounds = { readonly type?: string; readonly minimum?: number; readonly maximum?: number; readonly default?: number | boolean };

/**
 * Each field takes the bounds the gateway checks it against and the default the worker applies (from its OpenAPI
 * document), so the browser refuses what the server would, and starts where the server would.
 */
function applyBounds(): void {
  for (const input of form().querySelectorAll<HTMLInputElement>('input[type="number"], input[type="checkbox"]')) {
    const bounds: Bounds | undefined = (JOB_FIELD_BOUNDS as Record<string, Bounds>)[input.name];
    if (!bounds) continue;
    if (input.type === 'checkbox') {
      if (typeof bounds.default === 'boolean') input.checked = bounds.default;
      continue;
    }
    if (bounds.minimum !== undefined) input.min = String(bounds.minimum);
    if (bounds.maximum !== undefined) input.max = String(bounds.maximum);
    if (bounds.type === 'number') input.step = 'any'; // not only whole numbers
    if (typeof bounds.default === 'number') input.value = String(bounds.default);
  }
}

export const jobForm = new JobForm();
