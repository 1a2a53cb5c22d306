// A segment's start or end in the transcript editor, moved by dragging it sideways (mouse,
// pen or finger) or by keys: an ARIA slider, so a screen reader names it and reads its
// time. A drag or a key is one change (commit); a click that does not move plays from it.
import { clock } from './clock.ts';

export interface HandleOptions {
  /** The accessible name ("Start of segment 3"). */
  label: string;
  value: number;
  range: [number, number];
  commit: (value: number) => void;
  /** A click without a drag. */
  play: (value: number) => void;
}

/** Seconds a pixel of drag moves the edge: 50 px a second, fine enough to land on a word gap. */
const PER_PIXEL = 0.02;
const STEP = 0.1;
const PAGE = 1;
const KEYS: Record<string, (v: number, range: [number, number]) => number> = {
  ArrowLeft: (v) => v - STEP, ArrowDown: (v) => v - STEP,
  ArrowRight: (v) => v + STEP, ArrowUp: (v) => v + STEP,
  PageDown: (v) => v - PAGE, PageUp: (v) => v + PAGE,
  Home: (_, [low]) => low, End: (_, [, high]) => high,
};

export function boundaryHandle({ label, value, range, commit, play }: HandleOptions): HTMLElement {
  const handle = document.createElement('span');
  handle.className = 'edit-handle';
  handle.tabIndex = 0;
  handle.setAttribute('role', 'slider');
  handle.setAttribute('aria-label', label);
  handle.setAttribute('aria-valuemin', range[0].toFixed(1));
  handle.setAttribute('aria-valuemax', range[1].toFixed(1));
  handle.setAttribute('aria-orientation', 'horizontal');
  const clamp = (v: number) => Math.round(Math.min(range[1], Math.max(range[0], v)) * 100) / 100;
  const show = (v: number) => {
    handle.textContent = clock(v, { tenths: true });
    handle.setAttribute('aria-valuenow', v.toFixed(2));
    handle.setAttribute('aria-valuetext', handle.textContent);
  };
  show(value);

  let drag: { x: number; to: number; moved: boolean } | null = null;
  handle.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    handle.focus();
    handle.setPointerCapture(e.pointerId);
    drag = { x: e.clientX, to: value, moved: false };
    handle.classList.add('dragging');
  });
  handle.addEventListener('pointermove', (e) => {
    if (!drag) return;
    drag.moved ||= Math.abs(e.clientX - drag.x) >= 2;
    if (!drag.moved) return;
    drag.to = clamp(value + (e.clientX - drag.x) * PER_PIXEL);
    show(drag.to);
  });
  const end = (done: boolean) => {
    const was = drag;
    drag = null;
    handle.classList.remove('dragging');
    if (!was) return;
    if (!done) show(value);
    else if (!was.moved) play(value);
    else if (was.to !== value) commit(was.to);
  };
  handle.addEventListener('pointerup', () => end(true));
  handle.addEventListener('pointercancel', () => end(false));
  handle.addEventListener('keydown', (e) => {
    const move = KEYS[e.key];
    if (!move || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    e.stopPropagation();
    const to = clamp(move(value, range));
    if (to !== value) commit(to);
  });
  return handle;
}
