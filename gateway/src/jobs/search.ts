// Searching jobs by the words of their transcript and of their file name, as
// both stores do it (GET /api/jobs?q=…): a query is words, never syntax; a job
// is found when it holds every word (the last one also as the start of a word,
// for search as you type), in its transcript or its file name; hits are ranked
// by BM25, and each one names the segments where its words are, with their
// times. SQLite does the finding and ranking with FTS5 (./sqlite-store.ts),
// Redis by reading the owner's jobs and ranking them here (BM25 as FTS5
// computes it: ../redis/store.ts); the matching segments are found here for both.
import type { TranscriptionResult } from '../protocol/messages.ts';
import type { JobRecord, JobStatus } from './store.ts';

/** A segment of a job's transcript that holds words of the query: seek the player to `start`. */
export interface SearchMatch {
  segment_id: number;
  start: number;
  end: number;
  text: string;
}

/** What a list is narrowed to: each one given must hold. */
export interface ListFilters {
  status?: JobStatus;
  /** Only this owner's jobs (null: the jobs with no owner); undefined: everyone's. */
  owner?: string | null;
  /** The model asked for, exactly. */
  model?: string;
  /** Created at or after (ms since the epoch). */
  since?: number;
  /** Created before (ms since the epoch). */
  until?: number;
}

export interface ListQuery extends ListFilters {
  limit: number;
  /** The previous page's next_cursor. */
  cursor?: string;
}

export interface SearchQuery extends ListQuery {
  /** Words, as a user typed them: never parsed as a query language. */
  q: string;
}

export interface SearchHit {
  job: JobRecord;
  /** The segments that hold words of the query, in time order (none when only the file name matched). */
  matches: SearchMatch[];
}

export interface SearchPage {
  jobs: SearchHit[];
  next_cursor: string | null;
}

/** At most this many matching segments per job. */
export const MAX_MATCHES = 3;
/** A word in the file name weighs this many times one in the transcript (both stores rank so). */
export const FILENAME_WEIGHT = 3;

/**
 * The words of a text as FTS5's unicode61 tokenizer with remove_diacritics 2
 * makes them: runs of letters, digits and private-use characters, lower case,
 * without diacritics. Everything else (spaces, punctuation, quotes, `*`, `(`)
 * separates words: no word can be FTS5 syntax.
 */
export function words(text: string): string[] {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase().match(/[\p{L}\p{N}\p{Co}]+/gu) ?? [];
}

/** A query's distinct words, in order; the last one matches as a prefix too. Empty: a query of no words, which finds nothing. */
export function queryTerms(q: string): string[] {
  return [...new Set(words(q))];
}

/** Whether `word` (of a text) is `term` of the query: the last term (`prefix`) also matches the words it starts. */
const hits = (word: string, term: string, prefix: boolean) => (prefix ? word.startsWith(term) : word === term);

/** The FTS5 query of the terms: each one quoted (a string, never an operator), all required, the last as a prefix. */
export function ftsQuery(terms: string[]): string {
  return terms.map((t, i) => `"${t.replaceAll('"', '""')}"${i === terms.length - 1 ? '*' : ''}`).join(' ');
}

/** The text a job is searched by: its segments' text (what an edit of the transcript changes), else the result's text. */
export function transcriptText(result: TranscriptionResult | null): string {
  if (!result) return '';
  return result.segments?.length ? result.segments.map((s) => s.text).join(' ') : (result.text ?? '');
}

/**
 * The segments of `result` that hold words of the query: those with the most
 * of its distinct words first (then the earliest), at most MAX_MATCHES, in
 * time order.
 */
export function segmentMatches(result: TranscriptionResult | null, terms: string[]): SearchMatch[] {
  if (!result?.segments || terms.length === 0) return [];
  const scored: Array<{ match: SearchMatch; found: number }> = [];
  for (const segment of result.segments) {
    const found = countTerms(words(segment.text), terms).filter((n) => n > 0).length;
    if (found > 0) scored.push({ match: { segment_id: segment.id, start: segment.start, end: segment.end, text: segment.text.trim() }, found });
  }
  return scored
    .sort((a, b) => b.found - a.found || a.match.start - b.match.start)
    .slice(0, MAX_MATCHES)
    .map((s) => s.match)
    .sort((a, b) => a.start - b.start);
}

/** How many of `tokens` each term matches. */
function countTerms(tokens: string[], terms: string[]): number[] {
  const last = terms.length - 1;
  return terms.map((term, i) => tokens.reduce((n, word) => n + (hits(word, term, i === last) ? 1 : 0), 0));
}

// A search cursor: the offset of the next page in the ranking (a list's cursor is a job's number; the two are not mixed up).
const CURSOR_TAG = 'search:';

export function searchCursor(offset: number): string {
  return Buffer.from(`${CURSOR_TAG}${offset}`).toString('base64url');
}

/** The offset a search cursor stands for (0 without one); null when it is no cursor a search gave. */
export function searchOffset(cursor: string | undefined): number | null {
  if (cursor === undefined) return 0;
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!text.startsWith(CURSOR_TAG)) return null;
  const offset = Number(text.slice(CURSOR_TAG.length));
  return Number.isSafeInteger(offset) && offset >= 0 ? offset : null;
}

/** Whether a job passes the filters other than owner and status (which pick the index it is read from). */
export function passes(job: JobRecord, { model, since, until }: ListFilters): boolean {
  if (model !== undefined && job.request.model !== model) return false;
  if (since !== undefined && job.created_at < since) return false;
  if (until !== undefined && job.created_at >= until) return false;
  return true;
}

/**
 * Ranks jobs by BM25 the way FTS5's bm25() does (k1 1.2, b 0.75; a term's
 * frequency is its hits in each column times the column's weight; the
 * document's length is all its words; an IDF of 0 or less counts as 1e-6), over
 * the jobs it is given (add() each one), keeping only those that hold every
 * term: what a store does that has no full-text index.
 */
export class Bm25Ranker<T extends JobRecord> {
  private readonly terms: string[];
  private docs = 0;
  private totalLength = 0;
  private readonly docsWith: number[];
  private readonly found: Array<{ job: T; freq: number[]; length: number }> = [];

  constructor(terms: string[]) {
    this.terms = terms;
    this.docsWith = terms.map(() => 0);
  }

  add(job: T): void {
    const name = words(job.request.filename ?? '');
    const text = words(transcriptText(job.result));
    const inName = countTerms(name, this.terms);
    const inText = countTerms(text, this.terms);
    const freq = this.terms.map((_, i) => inName[i]! * FILENAME_WEIGHT + inText[i]!);
    this.docs += 1;
    this.totalLength += name.length + text.length;
    freq.forEach((f, i) => f > 0 && (this.docsWith[i]! += 1));
    if (freq.every((f) => f > 0)) this.found.push({ job, freq, length: name.length + text.length });
  }

  /** The jobs that hold every term, best first (then newest first, by `order`, higher first). */
  ranked(order: (job: T) => number): T[] {
    const k1 = 1.2;
    const b = 0.75;
    const average = this.docs > 0 ? this.totalLength / this.docs : 0;
    const idf = this.docsWith.map((n) => Math.max(Math.log((this.docs - n + 0.5) / (n + 0.5)), 1e-6));
    const score = ({ freq, length }: { freq: number[]; length: number }) =>
      freq.reduce((sum, f, i) => sum + idf[i]! * (f * (k1 + 1)) / (f + k1 * (1 - b + (b * length) / (average || 1))), 0);
    return this.found
      .map((doc) => ({ job: doc.job, score: score(doc) }))
      .sort((x, y) => y.score - x.score || order(y.job) - order(x.job))
      .map((x) => x.job);
  }
}
