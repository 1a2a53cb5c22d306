// Longer speech for tests and benchmarks: the LibriVox clip joined to itself
// with sox, cut to a length. FLAC keeps it small where disk space is the point.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLIP } from './worker.ts';

const CLIP_SECONDS = 7.1;

/** A new file of `seconds` of speech (the clip over and over), as .wav or .flac. */
export function longSpeech(seconds: number, format: 'wav' | 'flac' = 'wav'): string {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'speech-')), `long.${format}`);
  const copies = Math.ceil(seconds / CLIP_SECONDS);
  execFileSync('sox', [...Array(copies).fill(CLIP), out, 'trim', '0', String(seconds)]);
  return out;
}
