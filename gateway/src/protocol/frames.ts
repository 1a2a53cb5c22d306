// Frames of protocol/PROTOCOL.md: an 8-byte big-endian length, then the body.
// Pure functions, tested byte for byte against protocol/vectors/.

export const HEADER_BYTES = 8;

export type FrameKind = 'json' | 'audio';

export interface FrameLimits {
  maxJsonFrame: number;
  maxAudioFrame: number;
}

export class FrameError extends Error {
  readonly code: 'too_large' | 'bad_frame' | 'truncated';
  constructor(code: FrameError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeBigUInt64BE(BigInt(length));
  return header;
}

export function encodeFrame(body: Uint8Array): Buffer {
  return Buffer.concat([frameHeader(body.length), body]);
}

export function encodeJson(message: object): Buffer {
  return encodeFrame(Buffer.from(JSON.stringify(message), 'utf8'));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseJson(body: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new FrameError('bad_frame', 'frame body is not UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FrameError('bad_frame', `frame body is not JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FrameError('bad_frame', 'frame body is not a JSON object');
  }
  return value as Record<string, unknown>;
}

export type Frame = Record<string, unknown> | Buffer;

/**
 * Fed chunks as they arrive; yields whole frames. The length is checked against
 * the limit before anything is allocated, and a body arriving in pieces is
 * copied once into a buffer of its final size rather than re-concatenated.
 */
export class FrameDecoder {
  private readonly limits: FrameLimits;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private body: Buffer | null = null;
  private filled = 0;
  private kind: FrameKind = 'json';

  constructor(limits: FrameLimits) {
    this.limits = limits;
  }

  /** `nextKind` says what the next frame is (the position decides, §3). */
  *feed(chunk: Buffer, nextKind: () => FrameKind): Generator<Frame> {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (true) {
      if (this.body === null) {
        if (this.buffered < HEADER_BYTES) return;
        this.kind = nextKind();
        this.startBody(this.take(HEADER_BYTES).readBigUInt64BE());
      }
      const body = this.body!;
      const wanted = body.length - this.filled;
      const piece = this.take(Math.min(wanted, this.buffered));
      piece.copy(body, this.filled);
      this.filled += piece.length;
      if (this.filled < body.length) return;
      this.body = null;
      yield this.kind === 'json' ? parseJson(body) : body;
    }
  }

  /** The stream ended: a partial frame left over is an error. */
  end(): void {
    if (this.buffered > 0 || this.body !== null) {
      throw new FrameError('truncated', 'stream ended inside a frame');
    }
  }

  private startBody(length: bigint): void {
    const limit = this.kind === 'json' ? this.limits.maxJsonFrame : this.limits.maxAudioFrame;
    if (length > BigInt(limit)) {
      throw new FrameError('too_large', `${this.kind} frame of ${length} bytes is over the limit of ${limit} bytes`);
    }
    this.body = Buffer.allocUnsafe(Number(length));
    this.filled = 0;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      this.chunks[0] = first.subarray(n);
      if (this.chunks[0].length === 0) this.chunks.shift();
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const joined = Buffer.concat(this.chunks);
    this.chunks = joined.length > n ? [joined.subarray(n)] : [];
    this.buffered -= n;
    return joined.subarray(0, n);
  }
}
