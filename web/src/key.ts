// The server's API key, once it has asked for one. Kept in localStorage, so a
// reload or a new tab needs no prompt, and sent as a header: never in the
// page's address, where history, bookmarks and shared links would keep it.
const STORE = 'whisper.apiKey';

export const storedKey = (): string | null => localStorage.getItem(STORE);
export const saveKey = (key: string) => localStorage.setItem(STORE, key);
export const forgetKey = () => localStorage.removeItem(STORE);

export const authHeaders = (key: string | null): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

/**
 * An event stream's URL with the key in its query: EventSource cannot send
 * headers. The browser only fetches this URL; it is never the page's address.
 */
export function withKey(url: string): string {
  const key = storedKey();
  return key ? `${url}${url.includes('?') ? '&' : '?'}api_key=${encodeURIComponent(key)}` : url;
}

export const isKeyRefusal = (status: number, body: any): boolean => status === 401 && body?.error?.code === 'invalid_api_key';

/**
 * The one question for a key: who asks it (the page sets that, askUser), and
 * the question open now (open), which every call refused meanwhile waits on.
 */
const keyPrompt: { askUser: (invalid: boolean) => Promise<void>; open: Promise<void> | null } = {
  askUser: () => new Promise(() => {}),
  open: null,
};

/** `ask` asks for a key until the server takes one, and saves it; `invalid`: the last one was refused. */
export function setKeyPrompt(ask: (invalid: boolean) => Promise<void>): void {
  keyPrompt.askUser = ask;
}

/**
 * After a 401 for the key `sent`: every call refused at the same time waits on
 * the one prompt, then tries again with the key it saved.
 */
export function keyNeeded(sent: string | null): Promise<void> {
  if (keyPrompt.open) return keyPrompt.open;
  if (storedKey() !== sent) return Promise.resolve(); // a new key came meanwhile: try with it
  forgetKey();
  const open = keyPrompt.askUser(sent !== null).finally(() => (keyPrompt.open = null));
  keyPrompt.open = open;
  return open;
}

/**
 * fetch with the key; when the server refuses it, asks for one and sends the request again.
 * `init`: the request's body, more headers, its cache mode.
 */
export async function apiFetch(url: string, method = 'GET', init: Pick<RequestInit, 'body' | 'cache'> & { headers?: Record<string, string> } = {}): Promise<Response> {
  for (;;) {
    const key = storedKey();
    const response = await fetch(url, { ...init, method, headers: { ...init.headers, ...authHeaders(key) } });
    if (response.status !== 401 || !isKeyRefusal(401, await response.clone().json().catch(() => null))) return response;
    await keyNeeded(key);
  }
}

/** Whether the server takes `key`: any answer but a refusal means it passed the check. */
export async function checkKey(key: string): Promise<'ok' | 'invalid' | 'network'> {
  const response = await fetch('/api/models', { headers: authHeaders(key) }).catch(() => null);
  if (!response) return 'network';
  return isKeyRefusal(response.status, await response.json().catch(() => null)) ? 'invalid' : 'ok';
}
