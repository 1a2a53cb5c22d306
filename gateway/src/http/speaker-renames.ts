// Renaming a finished job's speakers (PATCH /api/jobs/{id}): its body, its answers and the parser that names the field.
import Type from 'typebox';
import Value from 'typebox/value';
import { ApiError } from '../errors.ts';
import { failure, retryAfter } from './route-responses.ts';

/** A name's characters: at least one that String.prototype.trim() keeps (in words every regex dialect reads the same). */
export const NOT_BLANK = '[^\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]';
export const MAX_SPEAKER_RENAMES = 32;
export const MAX_SPEAKER_NAME = 100;

export const RenameSpeakersBody = Type.Object(
  {
    speakers: Type.Object({}, {
      additionalProperties: Type.String({ minLength: 1, maxLength: MAX_SPEAKER_NAME, pattern: NOT_BLANK, description: 'The new name, trimmed; not blank.' }),
      minProperties: 1,
      maxProperties: MAX_SPEAKER_RENAMES,
      description: 'A speaker\'s id (A, B, … as in the result\'s `speakers`), or its current name, to its new name.',
      examples: [{ A: 'Host', B: 'Guest' }],
    }),
  },
  { additionalProperties: false },
);

export const RENAME_SPEAKERS_ERRORS = {
  400: failure(
    'invalid_parameter: the body is not {"speakers": {id: name, …}} (`param` names the field: a name that is blank or longer than 100 characters, '
      + 'more than 32 speakers), a key is none of the job\'s speakers (the message lists them), or the job has no speakers (diarization was not asked for); '
      + 'bad_request: the body could not be read.',
  ),
  409: failure('job_not_finished (queued or running: its speakers are known once it has succeeded), job_failed (failed or cancelled: no result).'),
  503: failure('storage_unavailable: the job store cannot be reached or written now.', retryAfter),
  507: failure('insufficient_storage: the job store has no room left; nothing was renamed.'),
};

/**
 * PATCH /api/jobs/{id}'s body, checked field by field for a message that names
 * the field (the route takes the body unvalidated: a schema's refusal would
 * say less): each key with its new name, trimmed. As strict as
 * RenameSpeakersBody, which it checks last.
 */
export function parseSpeakerRenames(body: unknown): Map<string, string> {
  const bad = (message: string, param: string | null) => new ApiError('invalid_parameter', message, param);
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const example = '{"speakers": {"A": "Host", "B": "Guest"}}';
  if (body === undefined) throw bad(`field 'speakers' is required: send a JSON body like ${example}`, 'speakers');
  if (!isObject(body)) throw bad(`the body must be a JSON object like ${example} (got ${JSON.stringify(body)})`, null);
  const extra = Object.keys(body).find((k) => k !== 'speakers');
  if (extra !== undefined) throw bad(`unknown field '${extra}' in the body; accepted fields: speakers`, extra);
  const speakers = body.speakers;
  if (speakers === undefined) throw bad(`field 'speakers' is required in the body: ${example}`, 'speakers');
  if (!isObject(speakers)) throw bad(`field 'speakers' must be an object of speaker ids (or current names) to new names, like ${example} (got ${JSON.stringify(speakers)})`, 'speakers');
  const entries = Object.entries(speakers);
  if (entries.length === 0) throw bad("field 'speakers' is empty: name at least one speaker", 'speakers');
  if (entries.length > MAX_SPEAKER_RENAMES) throw bad(`field 'speakers' has ${entries.length} entries; at most ${MAX_SPEAKER_RENAMES}`, 'speakers');
  const names = new Map<string, string>();
  for (const [key, value] of entries) {
    const param = `speakers.${key}`;
    if (typeof value !== 'string') throw bad(`field '${param}' must be text: the speaker's new name (got ${JSON.stringify(value)})`, param);
    const length = [...value].length;
    if (length > MAX_SPEAKER_NAME) throw bad(`field '${param}' is ${length} characters long; a name is at most ${MAX_SPEAKER_NAME}`, param);
    const name = value.trim();
    if (name === '') throw bad(`field '${param}' is blank: give the speaker a name of 1 to ${MAX_SPEAKER_NAME} characters`, param);
    names.set(key, name);
  }
  if (!Value.Check(RenameSpeakersBody, body)) throw bad(`the body does not match ${example}`, 'speakers'); // nothing above let it through
  return names;
}

