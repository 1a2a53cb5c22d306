// Uploaded audio under DATA_DIR: uploads land in uploads/ while they stream
// in, and a job's audio is moved (renamed: same disk, atomic) to audio/<id>
// once its record can be written. A crash mid-upload leaves only a partial
// file in uploads/, which the next start clears: nothing is half-stored.
import { mkdirSync, rmSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../errors.ts';

export class AudioFiles {
  readonly uploads: string;
  private readonly audio: string;

  /** `gateway`: this gateway's own uploads folder when several share DATA_DIR (null: just uploads/). */
  constructor(dataDir: string, gateway: string | null = null) {
    this.uploads = gateway ? path.join(dataDir, 'uploads', gateway) : path.join(dataDir, 'uploads');
    this.audio = path.join(dataDir, 'audio');
    rmSync(this.uploads, { recursive: true, force: true });
    mkdirSync(this.uploads, { recursive: true });
    mkdirSync(this.audio, { recursive: true });
  }

  pathOf(id: string): string {
    return path.join(this.audio, id);
  }

  async adopt(uploadPath: string, id: string): Promise<string> {
    const target = this.pathOf(id);
    try {
      await rename(uploadPath, target);
    } catch (e) {
      throw storageError(e);
    }
    return target;
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }

  /** Every job's audio here, with when it arrived (was renamed here: ctime). */
  async files(): Promise<Array<{ id: string; arrived: number }>> {
    const out: Array<{ id: string; arrived: number }> = [];
    for (const id of await readdir(this.audio)) {
      const info = await stat(this.pathOf(id)).catch(() => null);
      if (info) out.push({ id, arrived: info.ctimeMs });
    }
    return out;
  }
}

/** A failed write of an upload, as the server's problem it is (never a 500 with no word). */
export function storageError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const { code, message } = e as { code?: string; message?: string };
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ApiError('insufficient_storage', 'The server has no room left to store this upload. Nothing was kept; try again later or send a smaller file.');
  }
  return new ApiError('storage_unavailable', `The server could not store this upload (${code ?? message ?? 'write failed'}). Nothing was kept; try again later.`);
}
