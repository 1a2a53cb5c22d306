// A stored file sent as a browser's <audio>/<video> reads it: its media type
// (from the upload's file name, else sniffed from its first bytes), and HTTP
// range requests (RFC 9110 §14), which the player seeks with.
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorBody } from '../errors.ts';

const BY_EXTENSION: Record<string, string> = {
  wav: 'audio/wav', wave: 'audio/wav', mp3: 'audio/mpeg', mpga: 'audio/mpeg', mpeg: 'audio/mpeg', m4a: 'audio/mp4', aac: 'audio/aac',
  ogg: 'audio/ogg', oga: 'audio/ogg', opus: 'audio/ogg', flac: 'audio/flac', weba: 'audio/webm', amr: 'audio/amr', aiff: 'audio/aiff', aif: 'audio/aiff',
  mp4: 'video/mp4', m4v: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm', mkv: 'video/x-matroska', ogv: 'video/ogg', avi: 'video/x-msvideo',
};

/** The media type of what `file` holds: by the upload's file name, else by its first bytes; application/octet-stream when neither says. */
export async function mediaType(file: string, filename: string): Promise<string> {
  const byName = BY_EXTENSION[path.extname(filename).slice(1).toLowerCase()];
  return byName ?? sniff(await head(file, 16));
}

async function head(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The type the first bytes say (WHATWG MIME Sniffing's audio/video signatures). */
export function sniff(b: Buffer): string {
  const ascii = (from: number, to: number) => b.subarray(from, to).toString('latin1');
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'audio/wav';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'AVI ') return 'video/x-msvideo';
  if (ascii(0, 3) === 'ID3' || (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0)) return 'audio/mpeg';
  if (ascii(0, 4) === 'OggS') return 'audio/ogg';
  if (ascii(0, 4) === 'fLaC') return 'audio/flac';
  if (ascii(0, 4) === 'FORM' && ascii(8, 12) === 'AIFF') return 'audio/aiff';
  if (ascii(4, 8) === 'ftyp') return ['M4A ', 'M4B '].includes(ascii(8, 12)) ? 'audio/mp4' : 'video/mp4';
  if (b.length >= 4 && b.readUInt32BE(0) === 0x1a45dfa3) return 'video/webm';
  return 'application/octet-stream';
}

/**
 * The one byte range a Range header asks of a file of `size` bytes ([start, end], inclusive); null to send it
 * whole (no Range, or one this does not serve: another unit, several ranges, a malformed header, which RFC 9110
 * lets a server ignore). 416 when the range starts past the end.
 */
export function byteRange(header: string | undefined, size: number): { start: number; end: number } | null {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return null; // invalid: ignored
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): ApiError {
  return new ApiError('range_not_satisfiable', `The range asked is not within the file: it has ${size} bytes (bytes 0-${Math.max(0, size - 1)}).`, 'range');
}

/**
 * Sends the file (bytes long, of `type`), whole (200) or the range asked (206), as a player reads it;
 * `gone`: the error when it is deleted meanwhile.
 */
export async function sendFile(request: FastifyRequest, reply: FastifyReply, file: { path: string; bytes: number; modified: number }, type: string, gone: () => ApiError) {
  reply.header('accept-ranges', 'bytes').header('content-type', type).header('last-modified', new Date(file.modified).toUTCString());
  reply.header('cache-control', 'private, no-cache');
  let range: { start: number; end: number } | null;
  try {
    const ifRange = request.headers['if-range'] as string | undefined;
    // If-Range: the range only while the file is the one the client has (by its date: this sends no ETag to match).
    const stale = ifRange !== undefined && !(Date.parse(ifRange) >= Math.floor(file.modified / 1000) * 1000);
    range = stale ? null : byteRange(request.headers.range, file.bytes);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return reply.status(416).header('content-range', `bytes */${file.bytes}`).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(errorBody(e)));
  }
  // Opened before the headers go: a file deleted meanwhile (the job deleted) is a plain 404, not a broken stream.
  const handle = await open(file.path, 'r').catch(() => null);
  if (!handle) throw gone();
  if (!range) {
    reply.header('content-length', String(file.bytes));
    return reply.status(200).send(handle.createReadStream());
  }
  reply.header('content-range', `bytes ${range.start}-${range.end}/${file.bytes}`).header('content-length', String(range.end - range.start + 1));
  return reply.status(206).send(handle.createReadStream({ start: range.start, end: range.end }));
}
