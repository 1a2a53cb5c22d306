// Whisper's languages (ISO-639-1 codes, as faster-whisper lists them).
export const LANGUAGE_CODES = ['af','am','ar','as','az','ba','be','bg','bn','bo','br','bs','ca','cs','cy','da','de','el','en','es','et','eu','fa','fi','fo','fr','gl','gu','ha','haw','he','hi','hr','ht','hu','hy','id','is','it','ja','jw','ka','kk','km','kn','ko','la','lb','ln','lo','lt','lv','mg','mi','mk','ml','mn','mr','ms','mt','my','ne','nl','nn','no','oc','pa','pl','ps','pt','ro','ru','sa','sd','si','sk','sl','sn','so','sq','sr','su','sv','sw','ta','te','tg','th','tk','tl','tr','tt','uk','ur','uz','vi','yi','yo','zh','yue'] as const;

const names = new Intl.DisplayNames(['en'], { type: 'language' });

export function isLanguage(code: string): boolean {
  return (LANGUAGE_CODES as readonly string[]).includes(code);
}

/** OpenAI's verbose_json names the language in lower-case English ("english"). */
export function languageName(code: string): string {
  if (code === 'jw') return 'javanese';
  try {
    return (names.of(code) ?? code).toLowerCase();
  } catch {
    return code;
  }
}
