// Correcting a finished job's transcript against its audio (PUT /api/jobs/{id}/transcript):
// the Edit button on the result card opens an editor in place of the transcript. Each
// segment's text is editable in place (its words are spans: the word that plays is marked,
// and clicking one seeks the player there); Enter splits a segment at the caret, a button
// merges it with the next, its start and end are dragged (or moved by arrow keys) as
// sliders, a menu re-assigns its speaker. Undo and redo (Ctrl+Z / Ctrl+Shift+Z, and buttons) step through the edits; Save
// stores them as the job's next revision (the server keeps the original), Revert to
// original makes revision 0 current again. Shortcuts work without leaving the text, as
// oTranscribe's do: Esc or Ctrl+Space play/pause, Ctrl+, / Ctrl+. back / forward 5 s,
// Ctrl+[ / Ctrl+] slower / faster.
import { failure, type Json } from './api.ts';
import { boundaryHandle } from './boundary-handle.ts';
import { EditHistory, edgeRange, mergeSegments, moveEdge, splitSegment, wordsFor, type Edge, type EditSegment } from './edit-model.ts';
import type { paths } from './generated/api.ts';
import type { Job } from './jobs.ts';
import { apiFetch } from './key.ts';
import { t } from './i18n.ts';
import { diarized, speakerId, type SpeakerRef } from './speakers.ts';
import { $, activeMedia, seek } from './view.ts';

type Saved = Json<paths['/api/jobs/{id}/transcript']['put']>;
type Revisions = Json<paths['/api/jobs/{id}/transcript/revisions']['get']>;
/** Where the focus goes when the editor is drawn again: a segment's text (at a caret), or one of its edges. */
type Focus = { index: number; caret?: number; edge?: Edge };

const SKIP = 5;
const RATES = [0.5, 0.6, 0.75, 0.9, 1, 1.25, 1.5, 1.75, 2];

class TranscriptEditor {
  private job: Job | null = null;
  private speakers: SpeakerRef[] | null = null;
  private history = new EditHistory([]);
  /** The segment being typed in since the last snapshot: typing in one segment is one undo step. */
  private typing: number | null = null;
  private base = 0;
  private open = false;
  private timer: number | undefined;
  private onSaved: (job: Job) => void = () => {};

  /** The job on the card (null: none, or not a succeeded one): the Edit button shows for a succeeded job with a transcript. */
  attach(job: Job | null, onSaved: (job: Job) => void): void {
    if (this.open && job?.id !== this.job?.id) this.close();
    document.getElementById('edit-status')?.remove(); // a saved revision's note: until the card shows anything else
    this.job = job?.status === 'succeeded' && job.result ? job : null;
    this.onSaved = onSaved;
    this.button().hidden = this.job === null || this.open;
  }

  /** The Edit button, made once, at the end of the card's actions. */
  private button(): HTMLButtonElement {
    let button = document.getElementById('edit-transcript') as HTMLButtonElement | null;
    if (!button) {
      button = document.createElement('button');
      button.type = 'button';
      button.id = 'edit-transcript';
      button.className = 'secondary';
      button.dataset.i18n = 'editTranscript';
      button.textContent = t('editTranscript');
      button.addEventListener('click', () => void this.start());
      $('actions').prepend(button);
    }
    return button;
  }

  private async start(): Promise<void> {
    const job = this.job;
    if (!job?.result) return;
    this.speakers = diarized(job.result) ? job.result.speakers!.map(({ id, name }) => ({ id, name })) : null;
    this.history = new EditHistory(job.result.segments.filter((s) => s.text.trim() !== '').map((s): EditSegment => ({
      start: s.start, end: s.end, text: s.text.trim(),
      speaker: this.speakers ? speakerId(this.speakers, s.speaker) : null,
      words: s.words ? s.words.map((w) => ({ word: w.word, start: w.start, end: w.end })) : null,
    })));
    this.typing = null;
    this.base = 0;
    this.open = true;
    this.button().hidden = true;
    $('segments').hidden = true;
    this.render();
    try {
      const revisions = await this.request<Revisions>(`/transcript/revisions`, 'GET');
      this.base = revisions.current;
      this.toolbar();
    } catch (e) {
      this.say(e);
    }
    const media = activeMedia();
    this.timer = window.setInterval(() => this.mark(), 100);
    this.root().querySelector<HTMLElement>('.edit-text')?.focus();
    if (media) media.playbackRate = media.playbackRate || 1;
  }

  /** Leaves the editor (what was not saved is dropped); the transcript shows again. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    window.clearInterval(this.timer);
    document.getElementById('editor')?.remove();
    $('segments').hidden = false;
    if (this.job) this.button().hidden = false;
  }

  /** Drawn again in the interface's new language. */
  redraw(): void {
    if (this.open) this.render();
  }

  private root(): HTMLElement {
    let root = document.getElementById('editor');
    if (!root) {
      root = document.createElement('section');
      root.id = 'editor';
      root.className = 'editor';
      root.addEventListener('keydown', (e) => this.key(e));
      $('segments').after(root);
    }
    return root;
  }

  private get segments(): EditSegment[] {
    return this.history.segments;
  }

  private render(focus?: Focus): void {
    const root = this.root();
    root.setAttribute('aria-label', t('editTranscript'));
    const bar = document.createElement('div');
    bar.className = 'edit-bar';
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', t('editTranscript'));
    const help = document.createElement('p');
    help.className = 'edit-help muted';
    help.id = 'edit-help';
    help.textContent = t('editHelp');
    const error = document.createElement('p');
    error.className = 'edit-error';
    error.id = 'edit-error';
    error.setAttribute('role', 'alert');
    error.hidden = true;
    const list = document.createElement('ol');
    list.className = 'edit-segments';
    list.append(...this.segments.map((s, i) => this.item(s, i)));
    const old = root.querySelector('#edit-error') as HTMLElement | null;
    if (old && !old.hidden) (error.hidden = false), (error.textContent = old.textContent);
    root.replaceChildren(bar, help, error, list);
    this.toolbar();
    const item = focus && list.children[focus.index];
    if (item && focus.edge) item.querySelector<HTMLElement>(`.edit-handle[data-edge="${focus.edge}"]`)?.focus();
    else if (item) {
      const text = item.querySelector<HTMLElement>('.edit-text')!;
      text.focus();
      if (focus.caret !== undefined) placeCaret(text, focus.caret);
    }
  }

  private toolbar(): void {
    const bar = this.root().querySelector('.edit-bar');
    if (!bar) return;
    const media = activeMedia();
    const button = (key: Parameters<typeof t>[0], action: () => void, disabled = false, extra = '') => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `secondary ${extra}`.trim();
      b.textContent = t(key);
      b.dataset.action = key;
      b.disabled = disabled;
      b.addEventListener('click', action);
      return b;
    };
    const rate = document.createElement('span');
    rate.className = 'edit-rate muted';
    rate.textContent = `${t('playbackSpeed')} ${media ? media.playbackRate : 1}×`;
    bar.replaceChildren(
      button('undo', () => this.undo(), !this.history.canUndo),
      button('redo', () => this.redo(), !this.history.canRedo),
      button('slower', () => this.rate(-1), !media),
      button('faster', () => this.rate(1), !media),
      rate,
      button('revertOriginal', () => void this.revert(), this.base === 0),
      button('cancelEdit', () => this.close()),
      button('saveTranscript', () => void this.save(), false, 'primary'),
    );
    bar.querySelector('.primary')?.classList.remove('secondary');
  }

  private item(segment: EditSegment, index: number): HTMLLIElement {
    const item = document.createElement('li');
    item.className = 'edit-segment';
    item.dataset.start = String(segment.start);
    item.dataset.end = String(segment.end);
    const head = document.createElement('div');
    head.className = 'edit-head';
    const small = (label: string, text: string, action: () => void) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary small';
      b.textContent = text;
      b.setAttribute('aria-label', label);
      b.title = label;
      b.addEventListener('click', action);
      return b;
    };
    const n = index + 1;
    const times = document.createElement('span');
    times.className = 'edit-times';
    times.append(this.handle(index, 'start'), ' – ', this.handle(index, 'end'));
    head.append(times);
    if (this.speakers) {
      const select = document.createElement('select');
      select.className = 'edit-speaker';
      select.setAttribute('aria-label', t('segmentSpeaker').replace('{n}', String(n)));
      const nobody = new Option(t('unknownSpeaker'), '');
      select.append(nobody, ...this.speakers.map((s) => new Option(s.name, s.id)));
      select.value = segment.speaker ?? '';
      select.addEventListener('change', () => this.change(this.segments.map((x, i) => (i === index ? { ...x, speaker: select.value || null } : x))));
      head.append(select);
    }
    const split = small(t('splitSegment').replace('{n}', String(n)), t('split'), () => this.splitAtCaret(index));
    head.append(split);
    if (index < this.segments.length - 1) head.append(small(t('mergeSegment').replace('{n}', String(n)), t('merge'), () => this.merge(index)));
    const text = document.createElement('div');
    text.className = 'edit-text';
    text.contentEditable = 'plaintext-only';
    if (text.contentEditable !== 'plaintext-only') text.contentEditable = 'true';
    text.setAttribute('role', 'textbox');
    text.setAttribute('aria-label', t('segmentText').replace('{n}', String(n)));
    text.setAttribute('aria-describedby', 'edit-help');
    text.spellcheck = true;
    this.fill(text, segment);
    text.addEventListener('input', () => {
      if (this.typing !== index) this.history.snapshot(), (this.typing = index), this.toolbar();
      this.segments[index]!.text = (text.textContent ?? '').replace(/\s+/g, ' ');
    });
    text.addEventListener('blur', () => {
      const s = this.segments[index];
      if (!s || !text.isConnected) return;
      if (s.words) s.words = wordsFor(s.text, s.start, s.end, s.words);
      this.fill(text, s);
    });
    text.addEventListener('click', (e) => {
      const word = (e.target as HTMLElement).closest<HTMLElement>('.word');
      playFrom(Number(word?.dataset.start ?? segment.start));
    });
    item.append(head, text);
    return item;
  }

  /** The segment's text: its words as spans (marked while they play, seeking when clicked), or the text itself. */
  private fill(text: HTMLElement, segment: EditSegment): void {
    const words = wordsFor(segment.text, segment.start, segment.end, segment.words); // the text's own words, whatever was typed
    if (words.length === 0) {
      text.textContent = segment.text;
      return;
    }
    const parts: Node[] = [];
    words.forEach((w, i) => {
      const span = document.createElement('span');
      span.className = 'word';
      span.dataset.start = String(w.start);
      span.dataset.end = String(w.end);
      span.textContent = w.word.trim();
      if (i) parts.push(document.createTextNode(' '));
      parts.push(span);
    });
    text.replaceChildren(...parts);
  }

  /** Marks what plays: the word, else the segment. */
  private mark(): void {
    const media = activeMedia();
    const root = document.getElementById('editor');
    if (!root || !media) return;
    const now = media.currentTime;
    const started = !media.paused || now > 0;
    for (const el of root.querySelectorAll<HTMLElement>('.edit-segment, .word')) {
      const on = started && now >= Number(el.dataset.start) && now < Number(el.dataset.end);
      el.classList.toggle('playing', on);
    }
  }

  /** One undoable change (null: none), then drawn again. */
  private change(next: EditSegment[] | null, focus?: Focus): void {
    this.typing = null;
    if (this.history.apply(next)) this.render(focus ?? this.focused());
  }

  private undo(): void {
    this.typing = null;
    if (this.history.undo()) this.render(this.focused());
  }

  private redo(): void {
    this.typing = null;
    if (this.history.redo()) this.render(this.focused());
  }

  /** What has the focus (a segment's text or edge), if anything: kept there through a redraw. */
  private focused(): Focus | undefined {
    const active = document.activeElement as HTMLElement | null;
    const item = active?.closest('.edit-segment');
    const index = item ? [...item.parentElement!.children].indexOf(item) : -1;
    if (index < 0) return undefined;
    return { index: Math.min(index, this.segments.length - 1), edge: active!.dataset.edge as Edge | undefined };
  }

  /** A segment's start or end as a slider: dragged or moved by keys, it plays from where it lands. */
  private handle(index: number, edge: Edge): HTMLElement {
    const duration = this.job?.result?.duration ?? Infinity;
    const key = edge === 'start' ? 'segmentStart' : 'segmentEnd';
    const handle = boundaryHandle({
      label: t(key).replace('{n}', String(index + 1)),
      value: this.segments[index]![edge],
      range: edgeRange(this.segments, index, edge, duration),
      play: playFrom,
      commit: (value) => {
        this.change(moveEdge(this.segments, index, edge, value, duration), { index, edge });
        playFrom(value);
      },
    });
    handle.dataset.edge = edge;
    return handle;
  }

  private splitAtCaret(index: number): void {
    const text = this.root().querySelectorAll<HTMLElement>('.edit-text')[index];
    this.split(index, text ? caretIn(text) : null);
  }

  private split(index: number, at: number | null): void {
    this.change(splitSegment(this.segments, index, at), { index: index + 1, caret: 0 });
  }

  private merge(index: number): void {
    this.change(mergeSegments(this.segments, index), { index, caret: this.segments[index]!.text.length + 1 });
  }

  private rate(step: number): void {
    const media = activeMedia();
    if (!media) return;
    const at = RATES.findIndex((r) => r >= media.playbackRate - 1e-6);
    media.playbackRate = RATES[Math.max(0, Math.min(RATES.length - 1, (at < 0 ? RATES.indexOf(1) : at) + step))]!;
    this.toolbar();
  }

  private key(e: KeyboardEvent): void {
    const media = activeMedia();
    const ctrl = e.ctrlKey || e.metaKey;
    const target = e.target as HTMLElement;
    const done = () => e.preventDefault();
    if (ctrl && e.key.toLowerCase() === 'z') return done(), e.shiftKey ? this.redo() : this.undo();
    if (ctrl && e.key.toLowerCase() === 'y') return done(), this.redo();
    if (e.key === 'Escape' || (ctrl && (e.key === ' ' || e.code === 'Space'))) {
      if (!media) return;
      done();
      if (media.paused) void media.play().catch(() => {});
      else media.pause();
      return;
    }
    if (ctrl && (e.key === ',' || e.key === '.')) {
      if (!media) return;
      done();
      media.currentTime = Math.max(0, media.currentTime + (e.key === ',' ? -SKIP : SKIP));
      return;
    }
    if (ctrl && (e.key === '[' || e.key === ']')) return done(), this.rate(e.key === '[' ? -1 : 1);
    if (e.key === 'Enter' && target.classList.contains('edit-text')) {
      done();
      const index = [...target.closest('ol')!.children].indexOf(target.closest('li')!);
      this.split(index, caretIn(target));
    }
  }

  private say(e: unknown): void {
    const error = document.getElementById('edit-error');
    if (!error) return;
    error.hidden = false;
    error.textContent = `${t('editFailed')} ${e instanceof Error ? e.message : String(e)}`;
  }

  private async request<T>(path: string, method: string, body?: unknown): Promise<T> {
    const url = `/api/jobs/${encodeURIComponent(this.job!.id)}${path}`;
    const response = await apiFetch(url, method, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    if (!response.ok) throw await failure(response);
    return response.json();
  }

  private async save(): Promise<void> {
    const root = this.root();
    root.setAttribute('aria-busy', 'true');
    const segments = this.segments.filter((s) => s.text.trim() !== '').map((s) => ({
      start: s.start, end: s.end, text: s.text.trim(), ...(this.speakers && { speaker: s.speaker }),
    }));
    try {
      const saved = await this.request<Saved>('/transcript', 'PUT', { segments, base_revision: this.base });
      this.finish(saved);
    } catch (e) {
      this.say(e);
    } finally {
      root.removeAttribute('aria-busy');
    }
  }

  private async revert(): Promise<void> {
    if (!window.confirm(t('revertConfirm'))) return;
    try {
      this.finish(await this.request<Saved>('/transcript/restore', 'POST', { revision: 0 }));
    } catch (e) {
      this.say(e);
    }
  }

  /** Saved: the page shows the job the server answers (its transcript the new revision), and says which. */
  private finish(saved: Saved): void {
    this.close();
    const job = saved.job as unknown as Job;
    this.onSaved(job);
    const status = document.getElementById('edit-status') ?? Object.assign(document.createElement('p'), { id: 'edit-status', className: 'notice' });
    status.setAttribute('role', 'status');
    status.textContent = t('revisionSaved').replace('{n}', String(saved.revision.revision));
    $('actions').after(status);
  }
}

/** The player (if the job has one) moved to `at`: a word clicked, an edge moved or clicked. */
function playFrom(at: number): void {
  const media = activeMedia();
  if (media) seek(media, at);
}

/** The caret's offset in `el`'s text, or null when the selection is elsewhere. */
function caretIn(el: HTMLElement): number | null {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || !el.contains(selection.anchorNode)) return null;
  const range = document.createRange();
  range.selectNodeContents(el);
  range.setEnd(selection.anchorNode!, selection.anchorOffset);
  return range.toString().length;
}

function placeCaret(el: HTMLElement, offset: number): void {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let left = offset;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const length = node.textContent?.length ?? 0;
    if (left <= length) {
      window.getSelection()?.collapse(node, left);
      return;
    }
    left -= length;
  }
  window.getSelection()?.collapse(el, el.childNodes.length);
}

/** The editor of the job on screen; shown-job.ts attaches each job it shows. */
export const transcriptEditor = new TranscriptEditor();
