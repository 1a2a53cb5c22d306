// Live captions on screen: a paragraph per utterance, its confirmed text then
// the tentative rest (lighter, and hidden from screen readers, which would
// read every guess), until the final text replaces both.
import { $ } from './view.ts';

function paragraph(item: string): HTMLParagraphElement {
  const box = $('captions');
  const found = [...box.children].find((p) => (p as HTMLElement).dataset.item === item);
  if (found) return found as HTMLParagraphElement;
  const p = document.createElement('p');
  p.dataset.item = item;
  const confirmed = document.createElement('span');
  confirmed.className = 'confirmed';
  const pending = document.createElement('span');
  pending.className = 'pending';
  pending.setAttribute('aria-hidden', 'true');
  p.append(confirmed, pending);
  box.append(p);
  return p;
}

/** Keeps the newest line in view, unless the reader has scrolled up to read. */
function follow(write: () => void): void {
  const box = $('captions');
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  write();
  if (atEnd) box.scrollTop = box.scrollHeight;
}

export const clearCaptions = () => $('captions').replaceChildren();

/** An utterance began: its paragraph, empty until text comes. */
export const openCaption = (item: string) => follow(() => paragraph(item));

export function captionDelta(item: string, text: string, pending: string): void {
  const p = paragraph(item);
  if (p.classList.contains('final')) return;
  follow(() => {
    p.children[0]!.textContent += text;
    p.children[1]!.textContent = pending;
  });
}

export function captionDone(item: string, transcript: string): void {
  const p = paragraph(item);
  if (!transcript.trim()) return p.remove(); // a noise that held no words
  follow(() => {
    p.children[0]!.textContent = transcript.trim();
    p.children[1]!.textContent = '';
    p.classList.add('final');
  });
}

/** Utterances still waiting for their final text. */
export const openCaptions = () => $('captions').querySelectorAll('p:not(.final)').length;
