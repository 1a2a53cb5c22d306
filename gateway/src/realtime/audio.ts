// input_audio_buffer.append's audio: base64 of PCM16 little-endian mono.
// Checked strictly before it is decoded: Buffer.from(…, 'base64') skips any
// character it does not know and stops at the first '=', so junk would reach
// the worker as noise instead of being refused.
import { RealtimeError } from './errors.ts';

/** The largest append, decoded (OpenAI's own limit is 15 MiB). */
export const MAX_APPEND_BYTES = 15 * 1024 * 1024;

const NOT_BASE64 = /[^A-Za-z0-9+/=]/;

export function decodePcm16(audio: string, eventId: string | null, maxBytes = MAX_APPEND_BYTES): Buffer {
  const invalid = (why: string) => new RealtimeError('invalid_audio', `'audio' ${why}: send base64 of PCM16 little-endian mono samples.`, 'audio', eventId);
  const padding = audio.endsWith('==') ? 2 : audio.endsWith('=') ? 1 : 0;
  const bytes = (audio.length / 4) * 3 - padding;
  // Refused by its length before anything is decoded: a huge append costs no copy.
  if (bytes > maxBytes) {
    throw new RealtimeError('audio_too_large', `'audio' holds ${bytes} bytes; an append may hold at most ${maxBytes} (${Math.round(maxBytes / 1048576)} MiB): send the audio in smaller appends.`, 'audio', eventId);
  }
  if (audio.length % 4 !== 0) throw invalid(`is not base64 (its length, ${audio.length}, is not a multiple of 4)`);
  const bad = NOT_BASE64.exec(audio);
  if (bad) throw invalid(`is not base64 (${JSON.stringify(bad[0])} at character ${bad.index})`);
  const equals = audio.indexOf('=');
  if (equals !== -1 && equals < audio.length - padding) throw invalid("is not base64 ('=' before its end)");
  const pcm = Buffer.from(audio, 'base64');
  if (pcm.length !== bytes) throw invalid('is not base64');
  if (pcm.length % 2 !== 0) {
    throw new RealtimeError('invalid_audio', `'audio' holds ${pcm.length} bytes, an odd number: PCM16 has 2 bytes a sample.`, 'audio', eventId);
  }
  return pcm;
}
