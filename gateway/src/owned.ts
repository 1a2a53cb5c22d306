// Background work with an owner. A promise nobody awaits would take the
// process down the day it rejects (Node ends on an unhandled rejection); each
// is started through owned(), which logs the failure against what it was
// doing. Ending that piece of work in a known state is the caller's part,
// inside the promise: owned() is the last line, not the handling.

export interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export function owned(log: Log, what: string, work: Promise<unknown>): void {
  work.catch((err: unknown) => log.error({ err }, `${what} failed`));
}
