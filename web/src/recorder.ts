// Microphone recording with MediaRecorder; the result is a File like any upload.
import { openMicrophone } from './microphone.ts';

export interface Recording {
  stop(): Promise<File>;
}

export async function record(): Promise<Recording> {
  const stream = await openMicrophone();
  const recorder = new MediaRecorder(stream);
  const chunks: Blob[] = [];
  recorder.addEventListener('dataavailable', (e) => chunks.push(e.data));
  recorder.start();
  return {
    stop: () =>
      new Promise((resolve) => {
        recorder.addEventListener('stop', () => {
          for (const track of stream.getTracks()) track.stop();
          const type = recorder.mimeType || 'audio/webm';
          const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
          resolve(new File(chunks, `recording-${stamp}.${type.includes('ogg') ? 'ogg' : 'webm'}`, { type }));
        });
        recorder.stop();
      }),
  };
}
