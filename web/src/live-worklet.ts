// On the audio thread: the microphone mixed to mono, brought from the
// context's rate down to the rate asked for (24 kHz for the realtime API) and
// posted as PCM16 little-endian, a chunk at a time; any message posts what is
// left. Loaded by capture.ts with audioWorklet.addModule, never imported.

// The AudioWorklet scope's names: TypeScript's DOM library has none of them.
declare const sampleRate: number;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, processor: new (options: { processorOptions: PcmOptions }) => AudioWorkletProcessor): void;

export interface PcmOptions { rate: number; chunkMs: number }
export interface Chunk { pcm: ArrayBuffer; last: boolean }

class Pcm16Downsampler extends AudioWorkletProcessor {
  private readonly step: number; // input frames per output sample
  private due: number; // input frames still to read before the next output sample
  private sum = 0;
  private count = 0;
  private readonly chunk: DataView<ArrayBuffer>;
  private filled = 0;

  constructor({ processorOptions: { rate, chunkMs } }: { processorOptions: PcmOptions }) {
    super();
    this.step = this.due = sampleRate / rate;
    this.chunk = new DataView(new ArrayBuffer(Math.round((rate * chunkMs) / 1000) * 2));
    this.port.onmessage = () => this.post(true);
  }

  process(inputs: Float32Array[][]): boolean {
    const channels = inputs[0] ?? [];
    const frames = channels[0]?.length ?? 0;
    for (let i = 0; i < frames; i++) {
      let x = 0;
      for (const channel of channels) x += channel[i]!;
      // Each output sample is the mean of the input frames it stands for: a box filter, enough against aliasing in speech.
      this.sum += x / channels.length;
      this.count++;
      if (--this.due > 0) continue;
      const value = this.sum / this.count;
      this.sum = this.count = 0;
      for (; this.due <= 0; this.due += this.step) this.emit(value); // more than once only for a context slower than the rate asked for
    }
    return true; // keep running while the microphone is silent or paused
  }

  private emit(value: number): void {
    const x = Math.max(-1, Math.min(1, value));
    this.chunk.setInt16(this.filled * 2, x < 0 ? x * 0x8000 : x * 0x7fff, true);
    if (++this.filled * 2 === this.chunk.byteLength) this.post(false);
  }

  private post(last: boolean): void {
    const pcm = this.chunk.buffer.slice(0, this.filled * 2);
    this.filled = 0;
    this.port.postMessage({ pcm, last } satisfies Chunk, [pcm]);
  }
}

registerProcessor('pcm16', Pcm16Downsampler);
