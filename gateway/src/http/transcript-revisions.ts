// Editing a finished job's transcript (PUT /api/jobs/{id}/transcript): the bodies, the answers and the parsers that name the field.
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { ApiError } from '../errors.ts';
import { JobObject } from './schemas.ts';
import { failure, retryAfter } from './route-responses.ts';
import { KEPT_EDITS } from '../jobs/store.ts';
import { NOT_BLANK } from './speaker-renames.ts';

export const MAX_EDIT_SEGMENTS = 10_000;
export const MAX_SEGMENT_TEXT = 2_000;
export const MAX_SEGMENT_WORDS = 1_000;
export const MAX_REVISION = 1_000_000_000;
const seconds = (description: string) => Type.Number({ minimum: 0, description });

const EditedWord = Type.Object(
  {
    word: Type.String({ minLength: 1, maxLength: 200, description: 'The word as Whisper writes it (a leading space)' }),
    start: seconds('Seconds'),
    end: seconds('Seconds, at or after start'),
  },
  { additionalProperties: false },
);
export const TranscriptEditBody = Type.Object(
  {
    segments: Type.Array(
      Type.Object(
        {
          start: seconds('Seconds; at or after the previous segment\'s start'),
          end: seconds('Seconds; at or after start, within the audio'),
          text: Type.String({ minLength: 1, maxLength: MAX_SEGMENT_TEXT, pattern: NOT_BLANK, description: 'The corrected text; not blank' }),
          speaker: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'A speaker id of the job\'s `speakers` (diarized jobs only); null: nobody' })),
          words: Type.Optional(Type.Array(EditedWord, {
            maxItems: MAX_SEGMENT_WORDS,
            description: 'The segment\'s words with their times, as read; optional. The stored words are the text\'s: a word still there keeps its times, the others are timed between them.',
          })),
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_EDIT_SEGMENTS, description: 'Every segment of the transcript, in time order' },
    ),
    base_revision: Type.Optional(Type.Integer({
      minimum: 0, maximum: MAX_REVISION,
      description: 'The revision this edit was made from (0: the original); when another edit was saved since, 409 revision_conflict and nothing is stored',
    })),
  },
  { additionalProperties: false },
);
export type TranscriptEdit = Static<typeof TranscriptEditBody>;

export const RestoreRevisionBody = Type.Object(
  { revision: Type.Integer({ minimum: 0, maximum: MAX_REVISION, description: 'The revision to make current again (0: the original)' }) },
  { additionalProperties: false },
);

const RevisionInfo = Type.Object({
  revision: Type.Integer({ description: '0: the original, as the worker made it; then 1, 2, … one per edit or restore' }),
  created_at: Type.String({ format: 'date-time' }),
  segments: Type.Integer({ description: 'How many segments it has' }),
});
export const TranscriptRevisions = Type.Object({
  current: Type.Integer({ description: 'The revision the result is now (the last)' }),
  revisions: Type.Array(RevisionInfo, { description: `Oldest first: the original (0) and the last ${KEPT_EDITS} edits (older edits are not kept)` }),
});
export const TranscriptSaved = Type.Object(
  { revision: RevisionInfo, job: JobObject },
  { description: 'Stored: the new revision, and the job (its result is the revision\'s)' },
);

const TRANSCRIPT_STATE = failure(
  'job_not_finished (queued or running: it has a transcript once it has succeeded), job_failed (failed or cancelled: no result); '
    + 'revision_conflict (base_revision is not the current revision: another edit was saved since; nothing was stored, the message says which is current).',
);
export const TRANSCRIPT_ERRORS = {
  400: failure(
    'invalid_parameter: the body is not an edit (`param` names the field: segments[3].end before its start or past the audio, segments out of order, '
      + `a blank text or one over ${MAX_SEGMENT_TEXT} characters, over ${MAX_EDIT_SEGMENTS} segments, an unknown speaker, a revision that does not exist); `
      + 'bad_request: the body could not be read.',
  ),
  409: TRANSCRIPT_STATE,
  503: failure('storage_unavailable: the job store cannot be reached or written now.', retryAfter),
  507: failure('insufficient_storage: the job store has no room left; nothing was stored.'),
};
export const REVISIONS_ERRORS = { 409: failure('job_not_finished (queued or running), job_failed (failed or cancelled: no result).') };

/**
 * PUT /api/jobs/{id}/transcript's body, checked field by field for a message
 * that names the field (as parseSpeakerRenames); what depends on the job (the
 * audio's duration, its speakers) the route checks.
 */
export function parseTranscriptEdit(body: unknown): TranscriptEdit {
  const bad = (message: string, param: string | null) => new ApiError('invalid_parameter', message, param);
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const example = '{"segments": [{"start": 0, "end": 2.5, "text": "Hello."}], "base_revision": 0}';
  const time = (v: unknown, param: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(`field '${param}' must be a number of seconds, 0 or more (got ${JSON.stringify(v)})`, param);
    return v;
  };
  if (!isObject(body)) throw bad(`the body must be a JSON object like ${example} (got ${JSON.stringify(body) ?? 'nothing'})`, null);
  const extra = Object.keys(body).find((k) => k !== 'segments' && k !== 'base_revision');
  if (extra !== undefined) throw bad(`unknown field '${extra}' in the body; accepted fields: segments, base_revision`, extra);
  const base = body.base_revision;
  if (base !== undefined && !(Number.isSafeInteger(base) && (base as number) >= 0 && (base as number) <= MAX_REVISION)) {
    throw bad(`field 'base_revision' must be a revision number, 0 to ${MAX_REVISION} (got ${JSON.stringify(base)})`, 'base_revision');
  }
  const segments = body.segments;
  if (!Array.isArray(segments)) throw bad(`field 'segments' is required: an array of {start, end, text}, like ${example}`, 'segments');
  if (segments.length > MAX_EDIT_SEGMENTS) throw bad(`field 'segments' has ${segments.length} segments; at most ${MAX_EDIT_SEGMENTS}`, 'segments');
  let previous = 0;
  segments.forEach((segment: unknown, i) => {
    const at = `segments[${i}]`;
    if (!isObject(segment)) throw bad(`field '${at}' must be an object {start, end, text} (got ${JSON.stringify(segment)})`, at);
    const unknown = Object.keys(segment).find((k) => !['start', 'end', 'text', 'speaker', 'words'].includes(k));
    if (unknown !== undefined) throw bad(`unknown field '${at}.${unknown}'; a segment has start, end, text, speaker, words`, `${at}.${unknown}`);
    const start = time(segment.start, `${at}.start`);
    const end = time(segment.end, `${at}.end`);
    if (end < start) throw bad(`field '${at}.end' (${end}) is before its start (${start})`, `${at}.end`);
    if (start < previous) throw bad(`field '${at}.start' (${start}) is before the previous segment's start (${previous}): segments go in time order`, `${at}.start`);
    previous = start;
    const text = segment.text;
    if (typeof text !== 'string') throw bad(`field '${at}.text' must be text (got ${JSON.stringify(text)})`, `${at}.text`);
    if (text.trim() === '') throw bad(`field '${at}.text' is blank: delete the segment, or merge it into another, rather than empty it`, `${at}.text`);
    const length = [...text].length;
    if (length > MAX_SEGMENT_TEXT) throw bad(`field '${at}.text' is ${length} characters long; a segment's text is at most ${MAX_SEGMENT_TEXT} (split it)`, `${at}.text`);
    const speaker = segment.speaker;
    if (speaker !== undefined && speaker !== null && typeof speaker !== 'string') throw bad(`field '${at}.speaker' must be a speaker's id, or null (got ${JSON.stringify(speaker)})`, `${at}.speaker`);
    const words = segment.words;
    if (words === undefined) return;
    if (!Array.isArray(words)) throw bad(`field '${at}.words' must be an array of {word, start, end} (got ${JSON.stringify(words)})`, `${at}.words`);
    if (words.length > MAX_SEGMENT_WORDS) throw bad(`field '${at}.words' has ${words.length} words; at most ${MAX_SEGMENT_WORDS}`, `${at}.words`);
    words.forEach((word: unknown, j) => {
      const wat = `${at}.words[${j}]`;
      if (!isObject(word)) throw bad(`field '${wat}' must be an object {word, start, end} (got ${JSON.stringify(word)})`, wat);
      const other = Object.keys(word).find((k) => !['word', 'start', 'end'].includes(k));
      if (other !== undefined) throw bad(`unknown field '${wat}.${other}'; a word has word, start, end`, `${wat}.${other}`);
      if (typeof word.word !== 'string' || word.word === '' || word.word.length > 200) throw bad(`field '${wat}.word' must be text of 1 to 200 characters (got ${JSON.stringify(word.word)})`, `${wat}.word`);
      const ws = time(word.start, `${wat}.start`);
      if (time(word.end, `${wat}.end`) < ws) throw bad(`field '${wat}.end' is before its start (${ws})`, `${wat}.end`);
    });
  });
  if (!Value.Check(TranscriptEditBody, body)) throw bad(`the body does not match ${example}`, 'segments'); // nothing above let it through
  return body as TranscriptEdit;
}

/** POST /api/jobs/{id}/transcript/restore's body: the revision, 400 naming the field when it is none. */
export function parseRestore(body: unknown): number {
  const bad = (message: string, param: string | null) => new ApiError('invalid_parameter', message, param);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(`the body must be a JSON object like {"revision": 0} (got ${JSON.stringify(body) ?? 'nothing'})`, null);
  const extra = Object.keys(body).find((k) => k !== 'revision');
  if (extra !== undefined) throw bad(`unknown field '${extra}' in the body; accepted fields: revision`, extra);
  const revision = (body as { revision?: unknown }).revision;
  if (!Number.isSafeInteger(revision) || (revision as number) < 0 || (revision as number) > MAX_REVISION) throw bad(`field 'revision' must be a revision number, 0 (the original) to ${MAX_REVISION} (got ${JSON.stringify(revision)})`, 'revision');
  return revision as number;
}
