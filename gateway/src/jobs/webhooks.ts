// Job-finished callbacks, signed per Standard Webhooks (https://www.standardwebhooks.com/).
// Only hosts the operator listed may be called, so a client cannot make the
// gateway probe its internal network; and redirects are never followed, so an
// allowed host cannot bounce the request somewhere else.
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { ApiError } from '../errors.ts';
import { owned, type Log } from '../owned.ts';
import type { JobRecord, JobStore, WebhookDelivery } from './store.ts';

export interface WebhookSettings {
  /** whsec_ + base64 (WEBHOOK_SECRET). */
  secret: string | null;
  /** host or host:port entries (WEBHOOK_ALLOWED_HOSTS); empty = webhooks off. */
  allowedHosts: string[];
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** Wait before the second attempt, doubled before each next one (default 1000). */
  firstBackoffMs?: number;
  /** Per attempt (default 10000). */
  timeoutMs?: number;
}


const DEFAULT_ATTEMPTS = 5;

/** Delivered, or every attempt spent: nothing more will be tried (an interrupted delivery is resumed). */
export function deliveryOver(d: WebhookDelivery, settings: WebhookSettings): boolean {
  return d.delivered || d.attempts >= (settings.maxAttempts ?? DEFAULT_ATTEMPTS);
}

const invalid = (message: string) => new ApiError('invalid_parameter', message, 'callback_url');

/** Canonical host as the URL parser writes it (lowercase, punycode, IPv6 in brackets), so list and URL compare alike. */
function canonicalHost(host: string): string | null {
  try {
    return new URL(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}`).hostname;
  } catch {
    return null;
  }
}

function allows(entry: string, host: string, port: string): boolean {
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry.trim());
  return m ? canonicalHost(m[1]!) === host && Number(m[2]) === Number(port) : canonicalHost(entry.trim()) === host;
}

/** Checks a callback URL at submit time; returns it normalised, or throws a 400 naming callback_url. */
export function checkCallbackUrl(raw: string, settings: WebhookSettings): string {
  if (settings.allowedHosts.length === 0) {
    throw invalid('callback_url is not accepted: webhooks are off on this server (WEBHOOK_ALLOWED_HOSTS is unset)');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`callback_url must be an absolute http or https URL (got ${JSON.stringify(raw.slice(0, 200))})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`callback_url must be an http or https URL (got ${url.protocol})`);
  }
  // fetch refuses URLs with credentials, so such a callback could never be delivered.
  if (url.username || url.password) throw invalid('callback_url must not contain a user name or password');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (!settings.allowedHosts.some((entry) => allows(entry, url.hostname, port))) {
    throw invalid(`callback_url host '${url.host}' is not allowed; allowed hosts: ${settings.allowedHosts.join(', ')}`);
  }
  return url.href;
}

/** Why a fetch failed, in words: undici hides the useful part (reset, refused) in `cause`. */
function describe(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no response within ${timeoutMs} ms`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return cause ? `${e.message}: ${cause}` : String(e?.message ?? error);
}

/**
 * POSTs `payload` as JSON to `url`, signed with the same webhook-id (eventId) on
 * every attempt so the receiver can drop duplicates; retries network errors,
 * timeouts and non-2xx with exponential backoff. Never throws: the outcome is
 * the returned record. `signal` (gateway shutdown) stops it between or during attempts;
 * `previous` (a delivery a restart interrupted) is resumed where it stopped.
 */
export async function deliverWebhook(
  url: string,
  eventId: string,
  payload: object,
  settings: WebhookSettings,
  onAttempt?: (d: WebhookDelivery) => void,
  signal?: AbortSignal,
  previous?: WebhookDelivery | null,
): Promise<WebhookDelivery> {
  const { maxAttempts = DEFAULT_ATTEMPTS, firstBackoffMs = 1000, timeoutMs = 10_000 } = settings;
  // A delivery resumed after a restart goes on counting its attempts, and waits its backoff first.
  const d: WebhookDelivery = previous ? { ...previous } : { attempts: 0, delivered: false, last_status: null, last_error: null, delivered_at: null };
  if (d.attempts > 0 && d.attempts < maxAttempts && !d.delivered) await sleep(firstBackoffMs * 2 ** (d.attempts - 1), undefined, { signal }).catch(() => undefined);
  let signer: Webhook;
  try {
    if (!settings.secret) throw new Error('WEBHOOK_SECRET is unset');
    signer = new Webhook(settings.secret);
  } catch (e) {
    return { ...d, last_error: `cannot sign: ${(e as Error).message}` };
  }
  const body = JSON.stringify(payload);
  const stop = (how: string) => (d.last_error = d.last_error ? `${d.last_error}; ${how}` : how);
  while (d.attempts < maxAttempts) {
    if (signal?.aborted) {
      stop('not retried: the gateway is shutting down');
      break;
    }
    d.attempts += 1;
    const now = new Date();
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'whisper-gateway-webhooks',
          'webhook-id': eventId,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signer.sign(eventId, now, body),
        },
        body,
      });
      // The receiver's answer is not used; cancelling (not reading) it bounds memory whatever it sends.
      await res.body?.cancel().catch(() => undefined);
      d.last_status = res.status;
      d.delivered = res.status >= 200 && res.status < 300;
      d.last_error = d.delivered ? null
        : res.status >= 300 && res.status < 400 ? `HTTP ${res.status}: redirects are not followed` : `HTTP ${res.status}`;
      if (d.delivered) d.delivered_at = new Date().toISOString();
    } catch (e) {
      d.last_status = null;
      d.last_error = signal?.aborted ? 'interrupted' : describe(e, timeoutMs);
    }
    // The caller records progress; its failure must not stop the delivery itself.
    try {
      onAttempt?.({ ...d });
    } catch {}
    if (d.delivered || d.attempts >= maxAttempts) break;
    await sleep(firstBackoffMs * 2 ** (d.attempts - 1), undefined, { signal }).catch(() => undefined);
  }
  return { ...d };
}

export interface DeliveriesOptions {
  settings: WebhookSettings;
  store: JobStore;
  log: Log;
  /** What a finished job's webhook carries: its API object (rendered where the API is: ../http/job-object.ts). */
  payload: (job: JobRecord) => Promise<object>;
  /** Shutting down: no new attempt. */
  stopping: AbortSignal;
}

/** Each finished job's webhook, its attempts saved as they go, resumed after a restart from what the store kept. */
export class WebhookDeliveries {
  private readonly options: DeliveriesOptions;

  constructor(options: DeliveriesOptions) {
    this.options = options;
  }

  async deliver(job: JobRecord, claimMs = 10 * 60_000): Promise<void> {
    const { store, settings, log, stopping } = this.options;
    if (!(await store.claimWebhook(job.id, claimMs))) return; // another gateway delivers it
    const payload = await this.options.payload(job);
    const save = (d: WebhookDelivery) => owned(log, `saving the webhook delivery of job ${job.id}`, store.recordWebhook(job.id, d, deliveryOver(d, settings)));
    const delivery = await deliverWebhook(job.request.callback_url!, `job_${job.id}`, payload, settings, save, stopping, job.webhook);
    if (delivery.attempts === (job.webhook?.attempts ?? 0)) return; // not one attempt (shutting down): still pending
    log.info({ job: job.id, delivered: delivery.delivered, attempts: delivery.attempts }, 'webhook delivery ended');
  }

  /** The deliveries a restart interrupted (or never began), from the store. */
  async resume(): Promise<void> {
    for (const job of await this.options.store.pendingWebhooks()) {
      if (this.options.stopping.aborted) return;
      owned(this.options.log, `the webhook of job ${job.id}`, this.deliver(job));
    }
  }
}
