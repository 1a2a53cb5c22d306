// The microphone, for recording and for live captions, with each way it can
// fail turned into an error the page can explain.
import { ApiError } from './api.ts';

export async function openMicrophone(): Promise<MediaStream> {
  // Browsers offer the microphone only to https pages and localhost: on plain http from another machine mediaDevices is missing.
  if (!window.isSecureContext || !navigator.mediaDevices) throw new ApiError('insecure_page', 'the microphone needs https or localhost');
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    const name = e instanceof DOMException ? e.name : '';
    const code = name === 'NotAllowedError' || name === 'SecurityError' ? 'microphone_denied'
      : name === 'NotFoundError' || name === 'OverconstrainedError' ? 'no_microphone'
        : 'microphone';
    throw new ApiError(code, String(e));
  }
}
