// The transcript on the result card: a line per segment, or, when the result
// has speakers, their turns (speakers.ts), each headed by the speaker's name
// in the speaker's colour. A name is a button: it opens an inline edit that
// renames the speaker (on the server for a stored job, the page redrawing
// every turn from the job the server answers). Clicking a line or a turn
// plays from there; view.ts's highlight() marks what plays.
import type { Segment, Transcript } from './api.ts';
import { clock } from './clock.ts';
import { spoken } from './exports.ts';
import { t } from './i18n.ts';
import { cleanName, colourOf, diarized, MAX_NAME_LENGTH, renamedLocally, turns, type SpeakerRef, type Turn } from './speakers.ts';
import { $, activeMedia, hideError, highlight, seek as seekMedia, showError } from './view.ts';
import { markIn, type Words } from './matches.ts';

/** Keeps a rename: the server's (it answers the job, which the page shows again). Rejects with the error to show. */
export type Rename = (id: string, name: string) => Promise<void>;

/**
 * How names can change: 'live' while segments arrive (the server renames only
 * a finished job's speakers), 'local' for a result the server does not store,
 * else how the server keeps a rename.
 */
type Renaming = 'live' | 'local' | Rename;

function seek(seconds: number): void {
  const media = activeMedia();
  if (!media) return;
  seekMedia(media, seconds);
  void media.play().catch(() => {});
}

function segmentItem(segment: Segment): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'segment';
  item.dataset.start = String(segment.start);
  item.dataset.end = String(segment.end);
  const button = document.createElement('button');
  button.type = 'button';
  const time = document.createElement('time');
  time.textContent = clock(segment.start);
  const text = document.createElement('span');
  text.textContent = segment.text.trim();
  button.append(time, text);
  button.addEventListener('click', () => seek(segment.start));
  item.append(button);
  return item;
}

class TranscriptView {
  /** The segments on screen, from the result or, while the job runs, from its events. */
  private segments: Segment[] = [];
  /** The speakers of a diarized transcript (as the result or the `info` event lists them); null without diarization. */
  private speakers: SpeakerRef[] | null = null;
  /** The whole result, once shown: what a local rename changes. */
  private result: Transcript | null = null;
  private renaming: Renaming = 'live';
  /** The turn whose name is being edited (its place in the list), while an edit is open. */
  private editing: number | null = null;
  /** How many times the list was emptied for another job: a rename's answer for one job must not move the focus in another's. */
  private cleared = 0;
  /** The line a search found (its start, in seconds) and the search's words, marked in it through every redraw. */
  private found: { start: number; words: Words } | null = null;

  /** Nothing on screen. */
  clear(): void {
    this.cleared++;
    this.found = null;
    this.segments = [];
    this.speakers = null;
    this.result = null;
    this.renaming = 'live';
    this.editing = null;
    $('segments').replaceChildren();
  }

  /** A running job's speakers, from its `info` event, before its first segment: the segments that follow come as turns. */
  begin(speakers: readonly SpeakerRef[]): void {
    this.speakers = speakers.map(({ id, name }) => ({ id, name }));
    this.render();
  }

  /** A running job's next segment. Only the last line or turn changes: what the reader is on stays put. */
  add(segment: Segment): void {
    this.segments.push(segment);
    const list = $('segments');
    if (!this.speakers) {
      list.append(segmentItem(segment));
      return;
    }
    const all = turns(this.segments, this.speakers);
    const last = all.at(-1);
    if (!last) return;
    const item = this.turnItem(last, all.length - 1);
    if (list.children.length === all.length) list.lastElementChild!.replaceWith(item);
    else list.append(item);
  }

  /** A finished job's result; `rename` keeps a rename on the server, null: on this page only. */
  show(transcript: Transcript, rename: Rename | null): void {
    this.result = transcript;
    this.segments = [...transcript.segments];
    this.speakers = diarized(transcript) ? transcript.speakers!.map(({ id, name }) => ({ id, name })) : null;
    this.renaming = rename ?? 'local';
    this.editing = null;
    // Silence, or noise that decodes as audio, gives no segments or only empty ones: say so rather than show nothing.
    const silent = spoken(transcript.segments).length === 0;
    $('no-speech').hidden = !silent;
    $('segments').hidden = silent;
    $('actions').hidden = silent;
    this.render();
  }

  /** Drawn again in the interface's new language; an open edit is left as it is. */
  redraw(): void {
    if (this.editing === null) this.render();
  }

  private render(): void {
    const list = $('segments');
    list.classList.toggle('speakers', this.speakers !== null);
    if (!this.speakers) list.replaceChildren(...this.segments.map(segmentItem));
    else list.replaceChildren(...turns(this.segments, this.speakers).map((turn, i) => this.turnItem(turn, i)));
    highlight();
    this.markFound();
  }

  /** Marks the search's words in the line that starts at `start` (a search's hit), and brings it into view. */
  find(start: number, words: Words): void {
    this.found = { start, words };
    this.markFound()?.scrollIntoView({ block: 'nearest' });
  }

  private markFound(): HTMLElement | undefined {
    if (!this.found) return undefined;
    const { start, words } = this.found;
    // The innermost element of that start: a line, or a sentence in a speaker's turn.
    const at = [...$('segments').querySelectorAll<HTMLElement>('[data-start]')].filter((el) => Math.abs(Number(el.dataset.start) - start) < 0.01).at(-1);
    if (!at) return undefined;
    at.classList.add('found');
    markIn(at, words);
    return at;
  }

  private turnItem(turn: Turn, index: number): HTMLLIElement {
    const item = document.createElement('li');
    item.className = 'turn';
    item.dataset.start = String(turn.start);
    item.dataset.end = String(turn.end);
    if (turn.id !== null) {
      item.dataset.speaker = turn.id;
      item.classList.add(`speaker-${colourOf(turn.id)}`);
    }
    const head = document.createElement('div');
    head.className = 'turn-head';
    const time = document.createElement('time');
    time.textContent = clock(turn.start);
    head.append(this.nameOf(turn, index), time);
    const text = document.createElement('button');
    text.type = 'button';
    text.className = 'turn-text';
    for (const segment of turn.segments) {
      const part = document.createElement('span');
      part.dataset.start = String(segment.start);
      part.dataset.end = String(segment.end);
      part.textContent = segment.text.trim();
      text.append(part, ' ');
    }
    // From the sentence clicked, or, by keyboard, from the turn's start.
    text.addEventListener('click', (e) => seek(Number((e.target as HTMLElement).closest<HTMLElement>('[data-start]')?.dataset.start ?? turn.start)));
    item.append(head, text);
    return item;
  }

  /** The turn's speaker: a button that renames, once the names can change; plain text while the job runs, or nobody was heard. */
  private nameOf(turn: Turn, index: number): HTMLElement {
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = turn.name ?? t('unknownSpeaker');
    if (turn.id === null || this.renaming === 'live') {
      const plain = document.createElement('span');
      plain.className = turn.id === null ? 'speaker nobody' : 'speaker';
      plain.append(name);
      return plain;
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'speaker';
    const label = t('renameSpeaker').replace('{name}', turn.name ?? '');
    button.setAttribute('aria-label', label);
    button.title = label;
    const pencil = document.createElement('span');
    pencil.className = 'pencil';
    pencil.setAttribute('aria-hidden', 'true');
    pencil.textContent = '✎';
    button.append(name, pencil);
    button.addEventListener('click', () => this.edit(button, turn, index));
    return button;
  }

  /** The inline edit in place of the name: Enter renames, Escape keeps the name, and leaving it renames if it changed. */
  private edit(button: HTMLButtonElement, turn: Turn, index: number): void {
    if (this.editing !== null) return;
    this.editing = index;
    const form = document.createElement('form');
    form.className = 'rename';
    const input = document.createElement('input');
    input.type = 'text';
    input.value = turn.name ?? '';
    input.maxLength = MAX_NAME_LENGTH;
    input.required = true;
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.setAttribute('aria-label', t('speakerName'));
    const save = document.createElement('button');
    save.type = 'submit';
    save.className = 'secondary';
    save.textContent = t('save');
    form.append(input, save);
    let ended = false;
    /** `name`: the new name, or null to keep the old one; `back`: the focus returns to the name (it did not leave the edit). */
    const end = (name: string | null, back: boolean) => {
      if (ended) return;
      ended = true;
      if (name === null || name === turn.name) {
        this.editing = null;
        const again = this.nameOf(turn, index);
        form.replaceWith(again);
        if (back) again.focus();
        return;
      }
      void this.commit(form, turn.id!, name, index, back);
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      end(cleanName(input.value), true);
    });
    input.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      end(null, true);
    });
    form.addEventListener('focusout', (e) => {
      if (!form.contains(e.relatedTarget as Node | null)) end(cleanName(input.value), false);
    });
    button.replaceWith(form);
    input.focus();
    input.select();
  }

  /** Renames speaker `id`, then draws every turn again (its answer's names, or the old ones after a failure). */
  private async commit(form: HTMLFormElement, id: string, name: string, index: number, back: boolean): Promise<void> {
    form.setAttribute('aria-busy', 'true');
    for (const el of form.querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button')) el.disabled = true;
    const cleared = this.cleared;
    hideError();
    try {
      if (this.renaming === 'local') this.result = renamedLocally(this.result!, id, name);
      else if (this.renaming !== 'live') await this.renaming(id, name); // the page shows the job the server answers (show)
    } catch (e) {
      showError(e);
    } finally {
      this.editing = null;
    }
    if (this.renaming === 'local') this.show(this.result!, null);
    else if (form.isConnected) this.render(); // no answer drew it again: the names as they were
    // Back on the turn's name, unless another job came on screen meanwhile.
    if (back && this.cleared === cleared) $('segments').children[index]?.querySelector<HTMLElement>('.speaker')?.focus();
  }
}

/** The transcript on screen; shown-job.ts says what it shows. */
export const transcriptView = new TranscriptView();
