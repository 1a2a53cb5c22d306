// Multipart uploads: the file is streamed to a temporary file (never held in
// memory) and removed when the request is over, however it ends.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import { storageError } from '../jobs/audio-files.ts';
import { checkReference, MAX_REFERENCE_BYTES, REFERENCE_FIELD, referenceTooLarge, saveDataUrl, type Reference } from './references.ts';

export interface Upload {
  path: string;
  bytes: number;
  filename: string;
  fields: Record<string, string | string[]>;
  /** Known speakers' reference clips, in the order they came (file parts and data URLs alike). */
  references: Reference[];
  remove(): Promise<void>;
}

/** Why a multipart body could not be read, as the client's mistake it is. */
function uploadError(e: unknown, tooLarge: () => ApiError): ApiError {
  if (e instanceof ApiError) return e;
  const { code, message } = e as { code?: string; message?: string };
  if (code === 'FST_REQ_FILE_TOO_LARGE') return tooLarge();
  if (code === 'FST_FILES_LIMIT') return new ApiError('invalid_parameter', "field 'file': send exactly one audio file, and at most one reference clip for each known speaker; this request has more files.", 'file');
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') return new ApiError('invalid_parameter', 'The form has too many fields.');
  const reason = (message ?? String(e)).replace(/^Multipart: /, '');
  return new ApiError(
    'bad_request',
    `The multipart/form-data body could not be read (${reason}). Send the form with its boundary, as curl -F or a browser's FormData does.`,
  );
}

/** Streams the multipart upload into a new folder under `root` (DATA_DIR's uploads/, on the disk that keeps it). */
export interface UploadLimits {
  maxUploadBytes: number;
  minUploadBytesPerSecond: number;
  uploadRateWindowSeconds: number;
}

/**
 * Cuts off an upload slower than the minimum pace over a window (408), so a few
 * slow clients cannot hold the server's sockets and disk. Returns the stop function.
 */
function watchPace(request: FastifyRequest, limits: UploadLimits, cut: (error: ApiError) => void): () => void {
  const { minUploadBytesPerSecond: pace, uploadRateWindowSeconds: window } = limits;
  if (pace === 0) return () => {};
  const socket = request.raw.socket;
  let seen = socket.bytesRead;
  const timer = setInterval(() => {
    const got = socket.bytesRead - seen;
    seen = socket.bytesRead;
    if (got >= pace * window) return;
    cut(new ApiError('upload_too_slow', `The upload came in at ${Math.round(got / window)} bytes/s over ${window} s, under the ${pace} bytes/s this server needs (MIN_UPLOAD_BYTES_PER_SECOND); it was cut off. Send it again over a faster link.`));
  }, window * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

export async function receiveUpload(request: FastifyRequest, limits: UploadLimits, root: string): Promise<Upload> {
  const limit = limits.maxUploadBytes;
  const tooLarge = () => new ApiError('file_too_large', `The file is larger than this server accepts (${limit} bytes; the setting is MAX_UPLOAD_BYTES).`, 'file');
  if (!request.isMultipart()) throw new ApiError('file_missing', "Send the request as multipart/form-data with the audio in the field 'file'.");
  let dir: string;
  try {
    dir = await mkdtemp(path.join(root, 'upload-'));
  } catch (e) {
    throw storageError(e);
  }
  const remove = () => rm(dir, { recursive: true, force: true });
  const fields: Record<string, string | string[]> = {};
  let file: { path: string; filename: string } | null = null;
  const references: Reference[] = [];
  const referencePath = () => path.join(dir, `speaker-${references.length}`);
  let current: NodeJS.ReadableStream & { destroy(error?: Error): void } | null = null;
  const stopWatching = watchPace(request, limits, (error) => {
    if (current) current.destroy(error);
    else request.raw.destroy(error);
  });
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file' && part.fieldname === REFERENCE_FIELD) {
        const index = references.length;
        const target = referencePath();
        current = part.file;
        await pipeline(part.file, createWriteStream(target)).catch((e: NodeJS.ErrnoException) => {
          throw e.syscall ? storageError(e) : e;
        });
        current = null;
        const bytes = (await stat(target)).size;
        if (part.file.truncated || bytes > MAX_REFERENCE_BYTES) throw referenceTooLarge(index);
        references.push(await checkReference({ path: target, bytes }, index));
      } else if (part.type !== 'file' && part.fieldname === REFERENCE_FIELD) {
        if (part.valueTruncated) throw referenceTooLarge(references.length);
        references.push(await saveDataUrl(String(part.value), referencePath(), references.length));
      } else if (part.type === 'file') {
        if (part.fieldname === 'file' && file) {
          throw new ApiError('invalid_parameter', "field 'file': send exactly one file; this request has more than one.", 'file');
        }
        if (part.fieldname !== 'file') {
          part.file.resume();
          continue;
        }
        file = { path: path.join(dir, 'audio'), filename: part.filename };
        current = part.file;
        await pipeline(part.file, createWriteStream(file.path)).catch((e: NodeJS.ErrnoException) => {
          throw e.syscall ? storageError(e) : e; // a failed write is ours; a broken stream is the client's
        });
        current = null;
        if (part.file.truncated) throw tooLarge();
      } else {
        const value = String(part.value);
        const prior = fields[part.fieldname];
        fields[part.fieldname] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
      }
    }
  } catch (e) {
    await remove();
    throw uploadError(e, tooLarge);
  } finally {
    stopWatching();
  }
  if (!file) {
    await remove();
    throw new ApiError('file_missing');
  }
  const bytes = (await stat(file.path)).size;
  if (bytes === 0) {
    await remove();
    throw new ApiError('file_empty');
  }
  return { path: file.path, bytes, filename: file.filename, fields, references, remove };
}
