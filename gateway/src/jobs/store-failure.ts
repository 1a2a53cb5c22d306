// A write the job store refused, classified: no room (a full disk, Redis at
// maxmemory), or unreachable; as a job's error, and as the API's.
import { ApiError } from '../errors.ts';
import type { JobError } from '../dispatch/types.ts';

/** A write the job store refused, classified: no room (a full disk, Redis at maxmemory), or unreachable. */
export class StoreFailure {
  readonly full: boolean;
  readonly message: string;

  constructor(full: boolean, message: string) {
    this.full = full;
    this.message = message;
  }

  jobError(): JobError {
    return { code: this.full ? 'insufficient_storage' : 'storage_unavailable', message: this.message };
  }

  asApiError(): ApiError {
    return new ApiError(this.full ? 'insufficient_storage' : 'storage_unavailable', `${this.message}. Nothing was kept; try again later.`);
  }
}

export function storeFailure(err: unknown): StoreFailure {
  if (err instanceof ApiError) return new StoreFailure(err.code === 'insufficient_storage', err.message);
  const e = err as { code?: string; errcode?: number; message?: string };
  const text = e?.message ?? String(err);
  // SQLITE_FULL (13): the database's disk is full; ENOSPC/EDQUOT from a file write; Redis past maxmemory answers -OOM.
  const full = e?.errcode === 13 || e?.code === 'ENOSPC' || e?.code === 'EDQUOT' || /^OOM /.test(text) || /disk is full/i.test(text);
  return new StoreFailure(full, full ? `the job store has no room left (${text})` : `the job store could not be written (${text})`);
}
