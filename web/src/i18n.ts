// Interface text in English and Russian; the browser's language picks one, a switch changes it.
const en = {
  title: 'Whisper',
  tagline: 'Speech to text on your own server',
  drop: 'Drop audio or video files here',
  or: 'or',
  pick: 'Choose files',
  filesChosen: '{n} files',
  queue: 'Files',
  waitingUpload: 'Waiting to upload',
  openJob: 'Open the transcript',
  captions: 'Captions',
  record: 'Record',
  stopRecording: 'Stop recording',
  recording: 'Recording…',
  live: 'Live captions',
  stopLive: 'Stop live captions',
  liveConnecting: 'Connecting…',
  liveListening: 'Listening. Speak: the text appears as you talk, the uncertain words lighter.',
  liveFinishing: 'Finishing the last sentence…',
  liveSaving: 'Saving the transcript…',
  liveNothing: 'No speech was heard, so no transcript was kept.',
  model: 'Model',
  language: 'Language',
  auto: 'Detect automatically',
  task: 'Task',
  transcribe: 'Transcribe',
  translate: 'Translate to English',
  advanced: 'Advanced',
  wordTimestamps: 'Word timestamps',
  vad: 'Skip silence (VAD)',
  beam: 'Beam size',
  prompt: 'Prompt (names, spelling hints)',
  vadThreshold: 'Speech threshold (VAD, 0–1: higher hears less)',
  minSilence: 'Silence that ends speech (VAD, ms)',
  hotwords: 'Hotwords (words to favour)',
  conditionOnPrevious: 'Follow on from the text before (off if it repeats itself)',
  speakers: 'Speakers',
  speakersOff: 'Off: one text',
  speakersAuto: 'Tell apart automatically',
  speakersMore: 'More…',
  speakersCount: 'Number of speakers',
  unknownSpeaker: 'Unknown',
  renameSpeaker: 'Rename speaker {name}',
  speakerName: 'Speaker name',
  save: 'Save',
  start: 'Transcribe',
  uploading: 'Uploading',
  waiting: 'Waiting for a worker',
  working: 'Transcribing',
  elapsed: 'elapsed',
  remaining: 'left',
  loaded: 'loaded',
  notAvailable: 'not available offline',
  englishOnly: 'English only',
  result: 'Transcript',
  noSpeech: 'No speech was found in this file. It may be silent, or the voice too quiet to hear.',
  detected: 'Language',
  duration: 'Duration',
  speed: 'Speed',
  realtime: '× real time',
  copy: 'Copy text',
  copied: 'Copied',
  download: 'Download',
  recent: 'Recent',
  noRecent: 'Transcriptions on this server appear here.',
  cancel: 'Cancel',
  copyLink: 'Copy link',
  linkCopied: 'Link copied',
  status: 'Status',
  status_queued: 'Queued',
  status_running: 'Transcribing',
  status_succeeded: 'Done',
  status_failed: 'Failed',
  status_cancelled: 'Cancelled',
  inLine: 'in line',
  jobCancelled: 'This job was cancelled.',
  theme: 'Dark / light',
  keyTitle: 'Sign in',
  keyNeeded: 'This server needs an API key. Its administrator can give you one.',
  keyLabel: 'API key',
  keySubmit: 'Sign in',
  keyInvalid: 'This key is not valid. Check it and try again.',
  signOut: 'Sign out',
  err_undecodable_audio: 'This file is not audio or video that can be read. Try a WAV, MP3, M4A, OGG or MP4 file.',
  err_file_too_large: 'The file is too large for this server. Cut it shorter or ask the admin to raise MAX_UPLOAD_BYTES.',
  err_file_empty: 'The file is empty. Choose a file with sound in it.',
  err_no_worker: 'The transcription worker is not running. Start it (make start) and try again.',
  err_model_unavailable: 'This model is not available offline. Choose a model marked available, or put its files in the models folder.',
  err_unknown_model: 'This model name is not known.',
  err_network: 'The server could not be reached. Check your connection and try again.',
  err_job_missing: 'This job does not exist (or was deleted).',
  err_rate_limit_exceeded: 'Too many requests to this server just now. Wait a minute and try again.',
  err_too_many_jobs: 'You already have as many jobs waiting or running as this server allows. Wait for one to finish, or cancel one.',
  err_upload_too_slow: 'The upload was too slow and the server stopped it. Try again on a faster connection.',
  err_insecure_page: 'The microphone works only on a secure page: open this one over https, or on localhost.',
  err_microphone_denied: 'The page may not use the microphone. Allow it (the icon in the address bar) and try again.',
  err_no_microphone: 'No microphone was found. Connect one and try again.',
  err_microphone: 'The microphone could not be started. Check that no other program is using it, and try again.',
  err_live_refused: 'The server did not open a live session. It may not offer live captions, or a proxy in front of it may not pass WebSockets through.',
  err_live_closed: 'The live connection was lost. Start again to go on.',
  err_other: 'Something went wrong:',
};
export type Key = keyof typeof en;
const ru: Record<Key, string> = {
  title: 'Whisper',
  tagline: 'Распознавание речи на вашем сервере',
  drop: 'Перетащите сюда аудио- или видеофайлы',
  or: 'или',
  pick: 'Выбрать файлы',
  filesChosen: 'Файлов: {n}',
  queue: 'Файлы',
  waitingUpload: 'Ждёт загрузки',
  openJob: 'Открыть текст',
  captions: 'Субтитры',
  record: 'Записать',
  stopRecording: 'Остановить запись',
  recording: 'Идёт запись…',
  live: 'Живые субтитры',
  stopLive: 'Остановить субтитры',
  liveConnecting: 'Подключение…',
  liveListening: 'Слушаю. Говорите: текст появляется по ходу речи, неуверенные слова светлее.',
  liveFinishing: 'Завершение последней фразы…',
  liveSaving: 'Сохранение текста…',
  liveNothing: 'Речь не услышана, поэтому текст не сохранён.',
  model: 'Модель',
  language: 'Язык',
  auto: 'Определить автоматически',
  task: 'Задача',
  transcribe: 'Распознать',
  translate: 'Перевести на английский',
  advanced: 'Дополнительно',
  wordTimestamps: 'Время каждого слова',
  vad: 'Пропускать тишину (VAD)',
  beam: 'Ширина луча',
  prompt: 'Подсказка (имена, написание)',
  vadThreshold: 'Порог речи (VAD, 0–1: выше — слышит меньше)',
  minSilence: 'Тишина, завершающая речь (VAD, мс)',
  hotwords: 'Ключевые слова (предпочитать их)',
  conditionOnPrevious: 'Учитывать предыдущий текст (выключите, если текст повторяется)',
  speakers: 'Говорящие',
  speakersOff: 'Не различать: один текст',
  speakersAuto: 'Различать автоматически',
  speakersMore: 'Больше…',
  speakersCount: 'Число говорящих',
  unknownSpeaker: 'Неизвестно',
  renameSpeaker: 'Переименовать говорящего {name}',
  speakerName: 'Имя говорящего',
  save: 'Сохранить',
  start: 'Распознать',
  uploading: 'Загрузка',
  waiting: 'Ожидание обработчика',
  working: 'Распознавание',
  elapsed: 'прошло',
  remaining: 'осталось',
  loaded: 'загружена',
  notAvailable: 'нет в офлайне',
  englishOnly: 'только английский',
  result: 'Текст',
  noSpeech: 'В этом файле не найдено речи. Возможно, в нём тишина или голос слишком тихий.',
  detected: 'Язык',
  duration: 'Длительность',
  speed: 'Скорость',
  realtime: '× реального времени',
  copy: 'Копировать текст',
  copied: 'Скопировано',
  download: 'Скачать',
  recent: 'Недавние',
  noRecent: 'Здесь появятся расшифровки с этого сервера.',
  cancel: 'Отменить',
  copyLink: 'Копировать ссылку',
  linkCopied: 'Ссылка скопирована',
  status: 'Статус',
  status_queued: 'В очереди',
  status_running: 'Распознаётся',
  status_succeeded: 'Готово',
  status_failed: 'Ошибка',
  status_cancelled: 'Отменено',
  inLine: 'в очереди',
  jobCancelled: 'Это задание отменено.',
  theme: 'Тёмная / светлая',
  keyTitle: 'Вход',
  keyNeeded: 'Этому серверу нужен API-ключ. Его может выдать администратор сервера.',
  keyLabel: 'API-ключ',
  keySubmit: 'Войти',
  keyInvalid: 'Этот ключ недействителен. Проверьте его и попробуйте снова.',
  signOut: 'Выйти',
  err_undecodable_audio: 'Этот файл не удаётся прочитать как аудио или видео. Попробуйте WAV, MP3, M4A, OGG или MP4.',
  err_file_too_large: 'Файл слишком большой для этого сервера. Сократите его или попросите администратора увеличить MAX_UPLOAD_BYTES.',
  err_file_empty: 'Файл пустой. Выберите файл со звуком.',
  err_no_worker: 'Обработчик распознавания не запущен. Запустите его (make start) и попробуйте снова.',
  err_model_unavailable: 'Эта модель недоступна офлайн. Выберите доступную модель или положите её файлы в папку models.',
  err_unknown_model: 'Такая модель неизвестна.',
  err_network: 'Сервер недоступен. Проверьте соединение и попробуйте снова.',
  err_job_missing: 'Такого задания нет (или оно было удалено).',
  err_rate_limit_exceeded: 'Слишком много запросов к серверу. Подождите минуту и попробуйте снова.',
  err_too_many_jobs: 'У вас уже столько заданий в очереди и в работе, сколько разрешает сервер. Дождитесь окончания одного или отмените его.',
  err_upload_too_slow: 'Файл загружался слишком медленно, и сервер прервал загрузку. Попробуйте снова при более быстром соединении.',
  err_insecure_page: 'Микрофон работает только на защищённой странице: откройте эту по https или на localhost.',
  err_microphone_denied: 'Странице не разрешено использовать микрофон. Разрешите (значок в адресной строке) и попробуйте снова.',
  err_no_microphone: 'Микрофон не найден. Подключите его и попробуйте снова.',
  err_microphone: 'Не удалось включить микрофон. Проверьте, не занят ли он другой программой, и попробуйте снова.',
  err_live_refused: 'Сервер не открыл сеанс живых субтитров. Возможно, он их не поддерживает или прокси перед ним не пропускает WebSocket.',
  err_live_closed: 'Связь для живых субтитров прервалась. Начните снова, чтобы продолжить.',
  err_other: 'Что-то пошло не так:',
};

export type Locale = 'en' | 'ru';
const dictionaries: Record<Locale, Record<Key, string>> = { en, ru };

export function initialLocale(): Locale {
  const saved = localStorage.getItem('whisper.locale');
  if (saved === 'en' || saved === 'ru') return saved;
  return navigator.language.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

/** The interface's language: applyLocale sets it, every text follows it. */
const interfaceLanguage: { locale: Locale } = { locale: 'en' };
export const activeLocale = (): Locale => interfaceLanguage.locale;

export function t(key: Key): string {
  return dictionaries[interfaceLanguage.locale][key];
}

export function errorText(code: string): string | null {
  const key = `err_${code}` as Key;
  return key in en ? t(key) : null;
}

/** Fills every [data-i18n] element (text) and [data-i18n-label] (aria-label). */
export function applyLocale(locale: Locale): void {
  interfaceLanguage.locale = locale;
  localStorage.setItem('whisper.locale', locale);
  document.documentElement.lang = locale;
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset.i18n as Key);
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel as Key));
}

const displayNames = new Map<Locale, Intl.DisplayNames>();

/** A language's name in the interface's language, or `fallback` where the browser knows none. */
export function languageName(code: string, fallback = code): string {
  const current = interfaceLanguage.locale;
  let names = displayNames.get(current);
  if (!names) displayNames.set(current, (names = new Intl.DisplayNames([current], { type: 'language', fallback: 'none' })));
  let name: string | undefined;
  try {
    name = names.of(code);
  } catch {
    // RangeError: not a well-formed code
  }
  if (!name) return fallback;
  // CLDR gives Russian names in lower case, for use inside a sentence; menus and labels start with a capital.
  return name.charAt(0).toLocaleUpperCase(current) + name.slice(1);
}
