// How the TypeScript suites and benchmarks score speech: LibriVox's reference
// transcripts, and the word error rate exactly as the Python side computes it
// (bench/wer.py: Whisper's English normaliser, then jiwer).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LIBRIVOX, ROOT } from './worker.ts';

/** Each clip's reference transcript, by file name without .wav. */
export function librivoxReferences(): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of readFileSync(path.join(LIBRIVOX, 'transcription'), 'utf8').trim().split('\n')) {
    const [, text, id] = /^(.*)\((.*)\)\s*$/.exec(line)!;
    refs.set(id!.trim(), text!.replace(/<\/?s>/g, '').trim());
  }
  return refs;
}

/** The WER over all pairs, as a fraction. */
export function wer(references: string[], hypotheses: string[]): number {
  const input = JSON.stringify({ references, hypotheses });
  return Number(execFileSync(path.join(ROOT, '.venv/bin/python'), [path.join(ROOT, 'bench/wer.py')], { input, encoding: 'utf8' }));
}
