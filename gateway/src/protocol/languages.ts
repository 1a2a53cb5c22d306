// Whisper's languages: the protocol schema's list, named for people.
import { LANGUAGES, type Language } from './messages.ts';

export { LANGUAGES, type Language };

const names = new Intl.DisplayNames(['en'], { type: 'language' });

export function isLanguage(code: string): code is Language {
  return (LANGUAGES as readonly string[]).includes(code);
}

/** The English name ("German"); OpenAI's verbose_json wants it in lower case. */
export function languageName(code: string): string {
  if (code === 'jw') return 'Javanese'; // Whisper's old code for jv, which Intl does not know
  try {
    return names.of(code) ?? code;
  } catch {
    return code;
  }
}
