// A new job's upload. XMLHttpRequest, not fetch: only it reports the upload's
// progress. A refused key is asked for again and the same form sent again.
import { ApiError } from './api.ts';
import type { Job } from './jobs.ts';
import { authHeaders, isKeyRefusal, keyNeeded, storedKey } from './key.ts';

interface Answer { status: number; body: any }

export function submitJob(form: FormData, upload: (fraction: number) => void): { done: Promise<Job>; cancel(): void } {
  let xhr: XMLHttpRequest | null = null;
  let cancelled = false;
  const send = (key: string | null) =>
    new Promise<Answer>((resolve, reject) => {
      const request = (xhr = new XMLHttpRequest());
      request.upload.onprogress = (e) => e.lengthComputable && upload(e.loaded / e.total);
      request.upload.onload = () => upload(1);
      request.onload = () => {
        let body: any = null;
        try {
          body = JSON.parse(request.responseText);
        } catch {
          // not JSON: a proxy's page, say
        }
        resolve({ status: request.status, body });
      };
      request.onerror = () => reject(new ApiError('network', 'network error'));
      request.onabort = () => reject(new ApiError('cancelled', 'cancelled'));
      request.open('POST', '/api/jobs');
      for (const [name, value] of Object.entries(authHeaders(key))) request.setRequestHeader(name, value);
      request.send(form);
    });
  const done = (async () => {
    for (;;) {
      const key = storedKey();
      const { status, body } = await send(key);
      if (status === 202 && body?.id) return body as Job;
      if (!isKeyRefusal(status, body)) throw body?.error?.code ? new ApiError(body.error.code, body.error.message) : new ApiError('network', `HTTP ${status}`);
      await keyNeeded(key);
      if (cancelled) throw new ApiError('cancelled', 'cancelled');
    }
  })();
  return {
    done,
    cancel() {
      cancelled = true;
      xhr?.abort();
    },
  };
}
