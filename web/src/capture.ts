// The microphone as PCM16 chunks at a chosen rate, from an AudioWorklet
// (live-worklet.ts): the audio thread converts as it records, so a busy page
// never drops samples.
import workletUrl from './live-worklet.ts?worker&url';
import type { Chunk, PcmOptions } from './live-worklet.ts';
import { openMicrophone } from './microphone.ts';

export interface Capture {
  /** Ends the recording; the last, shorter chunk has gone to `onChunk` when it resolves. */
  stop(): Promise<void>;
}

const FLUSH_MS = 1000; // a context that stopped running posts nothing more: do not wait for it forever

export async function capture(options: PcmOptions, onChunk: (pcm: ArrayBuffer) => void): Promise<Capture> {
  // Made before anything is awaited, while the click that asked for it still counts as the user's: the autoplay policy lets it run.
  const context = new AudioContext();
  let stream: MediaStream | null = null;
  try {
    stream = await openMicrophone();
    await context.audioWorklet.addModule(workletUrl);
    const node = new AudioWorkletNode(context, 'pcm16', { numberOfInputs: 1, numberOfOutputs: 0, processorOptions: options });
    let flushed: () => void = () => {};
    node.port.onmessage = ({ data }: MessageEvent<Chunk>) => {
      if (data.pcm.byteLength) onChunk(data.pcm);
      if (data.last) flushed();
    };
    const source = context.createMediaStreamSource(stream);
    source.connect(node);
    await context.resume();
    const tracks = stream.getTracks();
    return {
      async stop() {
        for (const track of tracks) track.stop();
        await new Promise<void>((resolve) => {
          flushed = resolve;
          setTimeout(resolve, FLUSH_MS);
          node.port.postMessage('flush');
        });
        source.disconnect();
        await context.close();
      },
    };
  } catch (e) {
    for (const track of stream?.getTracks() ?? []) track.stop();
    await context.close();
    throw e;
  }
}
