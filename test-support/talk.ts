// A talk of three real people for the speaker tests, from Debian's pocketsphinx
// test data: a LibriVox reader, the speaker of cards/ and the speaker of the
// an4 clips, turn by turn with pauses, joined with sox. The same talk as the
// worker's tests build (worker/tests/test_diarize_worker.py), so both sides
// test the same voices; two clips left out of it are the known voices' references.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LIBRIVOX } from './worker.ts';

const DATA = path.dirname(LIBRIVOX);
const reader = (n: number) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0${n}.wav`;
const cards = (n: number) => `${DATA}/cards/00${n}.wav`;
const digits = (name: string) => `${DATA}/${name}.raw`;

type Voice = 'reader' | 'cards' | 'digits';
const TALK: Array<[Voice, string[]]> = [
  ['reader', [reader(870)]], ['cards', [cards(1), cards(2), cards(3)]], ['reader', [reader(880)]],
  ['digits', [digits('goforward'), digits('numbers')]], ['cards', [cards(4)]], ['reader', [reader(890)]], ['digits', [digits('something')]],
];

export interface Talk {
  path: string;
  /** Each clip's span in the talk, and whose voice it is. */
  turns: Array<{ start: number; end: number; voice: Voice }>;
  /** Clips of two of the voices that are not in the talk: known speakers' references. */
  references: { reader: string; cards: string };
}

function toWav(source: string, target: string): string {
  const raw = source.endsWith('.raw') ? ['-t', 'raw', '-r', '16000', '-e', 'signed', '-b', '16', '-c', '1'] : [];
  execFileSync('sox', [...raw, source, '-r', '16000', '-c', '1', '-b', '16', target]);
  return target;
}

const seconds = (file: string) => Number(execFileSync('soxi', ['-D', file], { encoding: 'utf8' }));

export function buildTalk(): Talk {
  const dir = mkdtempSync(path.join(tmpdir(), 'talk-'));
  const parts: string[] = [];
  const turns: Talk['turns'] = [];
  let at = 0;
  TALK.forEach(([voice, clips], t) => {
    clips.forEach((clip, c) => {
      const gap = c > 0 ? 0.2 : t > 0 ? 0.6 : 0;
      if (gap > 0) {
        const pause = path.join(dir, `pause-${parts.length}.wav`);
        execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', pause, 'trim', '0', String(gap)]);
        parts.push(pause);
        at += gap;
      }
      const wav = toWav(clip, path.join(dir, `${parts.length}.wav`));
      const length = seconds(wav);
      parts.push(wav);
      turns.push({ start: at, end: at + length, voice });
      at += length;
    });
  });
  const out = path.join(dir, 'talk.wav');
  execFileSync('sox', [...parts, out]);
  return { path: out, turns, references: { reader: reader(930), cards: toWav(cards(5), path.join(dir, 'cards-ref.wav')) } };
}

/** Whose voice is heard at `time` in the talk (with `slack` seconds around each clip), or null in a pause. */
export function voiceAt(talk: Talk, time: number, slack = 0.3): Voice | null {
  return talk.turns.find((t) => t.start - slack <= time && time <= t.end + slack)?.voice ?? null;
}
