// Uploaded audio under DATA_DIR: uploads land in uploads/ while they stream
// in, and a job's audio is moved (renamed: same disk, atomic) to audio/<id>
// once its record can be written. A crash mid-upload leaves only a partial
// file in uploads/, which the next start clears: nothing is half-stored.
import { mkdirSync, rmSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../errors.ts';

const SPEAKERS = '.speakers';

/** Where the i-th known speaker's reference clip of the job whose audio is `audioPath` lies. */
export function referencePath(audioPath: string, index: number): string {
  return path.join(audioPath + SPEAKERS, String(index));
}

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

  /** The job's audio, and its known speakers' reference clips (in `<id>.speakers/`, in order), moved in. */
  async adopt(uploadPath: string, id: string, references: readonly string[] = []): Promise<string> {
    const target = this.pathOf(id);
    try {
      if (references.length > 0) {
        await mkdir(target + SPEAKERS, { recursive: true });
        for (const [i, reference] of references.entries()) await rename(reference, referencePath(target, i));
      }
      await rename(uploadPath, target);
    } catch (e) {
      await rm(target + SPEAKERS, { recursive: true, force: true });
      throw storageError(e);
    }
    return target;
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
    await this.removeReferences(id);
  }

  /** Only the job's speakers' reference clips: what a kept job's audio (KEEP_AUDIO) no longer needs once it has ended. */
  async removeReferences(id: string): Promise<void> {
    await rm(this.pathOf(id) + SPEAKERS, { recursive: true, force: true });
  }

  /**
   * Every job's audio here (by job id: its reference clips count as its audio), with when it arrived
   * (was renamed here: ctime), and whether it has reference clips.
   */
  async files(): Promise<Array<{ id: string; arrived: number; references: boolean }>> {
    const out = new Map<string, { arrived: number; references: boolean }>();
    for (const name of await readdir(this.audio)) {
      const info = await stat(path.join(this.audio, name)).catch(() => null);
      const clips = name.endsWith(SPEAKERS);
      const id = clips ? name.slice(0, -SPEAKERS.length) : name;
      const seen = out.get(id) ?? { arrived: 0, references: false };
      if (info) out.set(id, { arrived: Math.max(seen.arrived, info.ctimeMs), references: seen.references || clips });
    }
    return [...out].map(([id, v]) => ({ id, ...v }));
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
