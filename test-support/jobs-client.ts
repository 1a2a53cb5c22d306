// A client of the jobs API over real HTTP, for tests and benchmarks that drive
// gateways as processes: submit, read a job, wait for a status, read its events.
import assert from 'node:assert/strict';
import { openAsBlob } from 'node:fs';
import { form } from './gateway.ts';
import { waitFor } from './wait.ts';

export interface SseEvent {
  id: number;
  event: string;
  data: any;
}

export async function submit(url: string, file: string, fields: Record<string, string> = {}): Promise<{ id: string; status: string }> {
  const response = await fetch(`${url}/api/jobs`, { method: 'POST', body: form(await openAsBlob(file), { model: 'tiny.en', ...fields }) });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()) as { id: string; status: string };
}

export const job = async (url: string, id: string) => (await fetch(`${url}/api/jobs/${id}`)).json();

export const until = (url: string, id: string, status: string, timeoutMs = 120_000) =>
  waitFor(`job ${id} to be ${status}`, async () => {
    const now = await job(url, id);
    return now.status === status ? now : null;
  }, timeoutMs, 100);

/** Reads an SSE response; stops after `stop` returns true for an event. */
export async function readEvents(response: Response, stop: (e: SseEvent) => boolean = () => false): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (true) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const e = { id: Number(/^id: (\d+)$/m.exec(block)?.[1]), event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) };
      events.push(e);
      if (stop(e)) {
        await reader.cancel();
        return events;
      }
    }
  }
}
