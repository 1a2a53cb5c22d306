// This browser's recent transcriptions (text and segments; not the media).
import type { Transcript } from './api.ts';

export interface Entry { id: string; name: string; at: number; transcript: Transcript }
const KEY = 'whisper.history';
const KEEP = 20;

export function entries(): Entry[] {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '[]');
  } catch {
    return [];
  }
}

export function remember(name: string, transcript: Transcript): Entry {
  const entry = { id: crypto.randomUUID(), name, at: Date.now(), transcript };
  const all = [entry, ...entries()].slice(0, KEEP);
  try {
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    localStorage.setItem(KEY, JSON.stringify(all.slice(0, 3))); // storage full: keep the newest few
  }
  return entry;
}
