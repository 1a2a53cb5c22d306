// Who speaks when, as the HTTP edge asks for it: the form fields (ours and
// OpenAI's), their checks across fields, and the known speakers' reference
// clips, which arrive as file parts or as data URLs and go to the worker as
// raw audio frames (protocol §3), never as text.
import Type from 'typebox';
import { ApiError } from '../errors.ts';
import { optionSchema } from '../protocol/messages.ts';
import type { Diarization } from '../protocol/messages.ts';

const count = (name: string, description: string) => {
  const from = optionSchema(name, 'Diarization');
  return Type.Integer({ minimum: from.minimum as number, maximum: from.maximum as number, description });
};
export const MAX_KNOWN_SPEAKERS = (optionSchema('known_speakers', 'Diarization').maxItems as number | undefined) ?? 32;
const name = optionSchema('name', 'KnownSpeaker');
const NAME = { minLength: name.minLength as number, maxLength: name.maxLength as number };

/** The fields both our forms take (/api/transcribe, /api/jobs). */
export const SPEAKER_FIELDS = {
  diarize: Type.Optional(Type.Boolean({ default: false, description: 'Who said what: a speaker on each segment and word, and the speakers with their speech time.' })),
  num_speakers: Type.Optional(count('num_speakers', 'Exactly this many speakers (implies diarize).')),
  min_speakers: Type.Optional(count('min_speakers', 'At least this many speakers, kept as a bound (implies diarize).')),
  max_speakers: Type.Optional(count('max_speakers', 'At most this many speakers, kept as a bound (implies diarize).')),
  ...knownSpeakerFields(),
};

/** OpenAI's names for known speakers, which our forms take as well. */
export function knownSpeakerFields() {
  return {
    'known_speaker_names[]': Type.Optional(Type.Array(Type.String(NAME), {
      maxItems: MAX_KNOWN_SPEAKERS,
      description: 'Names of known speakers, one for each reference clip, in order; a voice that matches one is named so, any other keeps a letter (implies diarize).',
    })),
    'known_speaker_references[]': Type.Optional(Type.Array(Type.String({ format: 'binary' }), {
      maxItems: MAX_KNOWN_SPEAKERS,
      description: 'A reference clip (2 to 10 s of that voice alone) for each name: a file part, or a data URL (data:audio/wav;base64,…).',
    })),
  };
}

export interface SpeakerFields {
  diarize?: boolean;
  num_speakers?: number;
  min_speakers?: number;
  max_speakers?: number;
  'known_speaker_names[]'?: string[];
}

/** The protocol's diarization option from the fields, or null when no speakers were asked for. */
export function diarizationOption(f: SpeakerFields, references: number, asked = false): Diarization | null {
  const names = (f['known_speaker_names[]'] ?? []).map((n) => n.trim());
  const on = asked || f.diarize === true || f.num_speakers !== undefined || f.min_speakers !== undefined
    || f.max_speakers !== undefined || names.length > 0 || references > 0;
  if (!on) return null;
  if (f.diarize === false) {
    throw new ApiError('invalid_parameter', "field 'diarize' is false, but speaker fields were sent: leave it out, or set it true", 'diarize');
  }
  checkBounds(f);
  if (names.length !== references) {
    const param = names.length < references ? 'known_speaker_names[]' : 'known_speaker_references[]';
    throw new ApiError('invalid_parameter', `field '${param}': ${names.length} known speaker names for ${references} reference clips; send one name for each clip, in the same order`, param);
  }
  const blank = names.findIndex((n) => n === '');
  if (blank >= 0) throw new ApiError('invalid_parameter', `field 'known_speaker_names[]': name ${blank + 1} is blank`, 'known_speaker_names[]');
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new ApiError('invalid_parameter', `field 'known_speaker_names[]': '${twice}' is given twice; send each voice once (one clip a name)`, 'known_speaker_names[]');
  }
  return {
    ...(f.num_speakers !== undefined && { num_speakers: f.num_speakers }),
    ...(f.min_speakers !== undefined && { min_speakers: f.min_speakers }),
    ...(f.max_speakers !== undefined && { max_speakers: f.max_speakers }),
    ...(names.length > 0 && { known_speakers: names.map((name) => ({ name })) }),
  };
}

function checkBounds(f: SpeakerFields): void {
  const { num_speakers: num, min_speakers: least, max_speakers: most } = f;
  if (least !== undefined && most !== undefined && least > most) {
    throw new ApiError('invalid_parameter', `field 'min_speakers' (${least}) is more than 'max_speakers' (${most})`, 'min_speakers');
  }
  if (num !== undefined && ((least !== undefined && num < least) || (most !== undefined && num > most))) {
    throw new ApiError('invalid_parameter', `field 'num_speakers' (${num}) is outside min_speakers..max_speakers (${least ?? 1}..${most ?? 32})`, 'num_speakers');
  }
}

/** A worker's refusal of a reference clip names the protocol's field; the client sent the form's. */
export function referenceParam(message: string): string | null {
  return /known_speakers\[\d+\]/.test(message) ? 'known_speaker_references[]' : null;
}
