// Known speakers' reference clips as they arrive: file parts or data URLs,
// written next to the upload, and refused at once when they are plainly no
// audio (by their first bytes) or, for WAV, shorter than a second. The worker
// decodes every clip and refuses what this cannot see, naming the clip.
import { open, writeFile } from 'node:fs/promises';
import { ApiError } from '../errors.ts';

export const REFERENCE_FIELD = 'known_speaker_references[]';
export const MAX_REFERENCE_BYTES = 16 << 20; // minutes of WAV: a reference needs seconds
const MIN_SECONDS = 1;

export interface Reference {
  path: string;
  bytes: number;
}

const fail = (index: number, what: string) =>
  new ApiError('invalid_parameter', `field '${REFERENCE_FIELD}': clip ${index + 1} ${what}`, REFERENCE_FIELD);

export const referenceTooLarge = (index: number) =>
  new ApiError('file_too_large', `field '${REFERENCE_FIELD}': clip ${index + 1} is larger than ${MAX_REFERENCE_BYTES} bytes; a reference needs 2 to 10 s of a voice`, REFERENCE_FIELD);

/** A data URL's bytes, written to `path`. */
export async function saveDataUrl(text: string, path: string, index: number): Promise<Reference> {
  const match = /^data:([^;,]*)((?:;[^;,]*)*),/i.exec(text);
  if (!match) throw fail(index, "is neither a file nor a data URL (data:audio/wav;base64,…)");
  const type = match[1]!.toLowerCase();
  if (type && !/^(audio|video)\//.test(type) && type !== 'application/octet-stream') throw fail(index, `is of type '${type}', not audio`);
  const payload = text.slice(match[0].length);
  const bytes = /;base64/i.test(match[2]!) ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'latin1');
  if (bytes.length > MAX_REFERENCE_BYTES) throw referenceTooLarge(index);
  await writeFile(path, bytes);
  return checkReference({ path, bytes: bytes.length }, index);
}

/** Refuses a clip that is empty, plainly not audio, or a WAV under a second. */
export async function checkReference(reference: Reference, index: number): Promise<Reference> {
  if (reference.bytes === 0) throw fail(index, 'is empty');
  const head = Buffer.alloc(Math.min(reference.bytes, 4096));
  const file = await open(reference.path, 'r');
  try {
    await file.read(head, 0, head.length, 0);
  } finally {
    await file.close();
  }
  if (!looksLikeAudio(head)) throw fail(index, 'is not audio (send WAV, MP3, FLAC, OGG, M4A, WebM or another file FFmpeg reads)');
  const seconds = wavSeconds(head, reference.bytes);
  if (seconds !== null && seconds < MIN_SECONDS) throw fail(index, `holds ${seconds.toFixed(2)} s; send 2 to 10 s of this voice alone`);
  return reference;
}

const ascii = (b: Buffer, at: number, text: string) => b.subarray(at, at + text.length).toString('latin1') === text;

/** The containers FFmpeg reads that a recording comes in, by their magic bytes. */
export function looksLikeAudio(b: Buffer): boolean {
  if (b.length < 4) return false;
  if (ascii(b, 0, 'RIFF') || ascii(b, 0, 'RF64') || ascii(b, 0, 'FORM') || ascii(b, 0, 'caff')) return true; // WAV, AIFF, CAF
  if (ascii(b, 0, 'ID3') || ascii(b, 0, 'OggS') || ascii(b, 0, 'fLaC') || ascii(b, 0, '#!AMR')) return true;
  if (b.length >= 8 && ascii(b, 4, 'ftyp')) return true; // MP4, M4A, MOV, 3GP
  if (b.readUInt32BE(0) === 0x1a45dfa3) return true; // Matroska, WebM
  return b[0] === 0xff && (b[1]! & 0xe0) === 0xe0; // an MPEG audio or ADTS frame
}

/** A plain WAV's length from its header, or null when the header does not say (another format, a stream). */
export function wavSeconds(b: Buffer, fileBytes: number): number | null {
  if (!ascii(b, 0, 'RIFF') || !ascii(b, 8, 'WAVE')) return null;
  let at = 12;
  let byteRate = 0;
  while (at + 8 <= b.length) {
    const id = b.subarray(at, at + 4).toString('latin1');
    const size = b.readUInt32LE(at + 4);
    if (id === 'fmt ' && at + 16 <= b.length) byteRate = b.readUInt32LE(at + 16);
    if (id === 'data') {
      if (!byteRate) return null;
      const data = size === 0 || size === 0xffffffff ? fileBytes - at - 8 : Math.min(size, fileBytes - at - 8);
      return data / byteRate;
    }
    at += 8 + size + (size % 2);
  }
  return null;
}
