import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { encodeFrame, encodeJson, FrameDecoder, FrameError, type FrameKind } from './frames.ts';

interface EncodeCase { name: string; json?: object; audio_hex?: string; hex: string }
interface DecodeCase {
  name: string;
  limits: { max_json_frame: number; max_audio_frame: number };
  kinds: FrameKind[];
  chunks: string[];
  frames: Array<{ json?: object; audio_hex?: string }>;
  error: string | null;
}

const vectors = JSON.parse(readFileSync(new URL('../../../protocol/vectors/frames.json', import.meta.url), 'utf8')) as {
  encode: EncodeCase[];
  decode: DecodeCase[];
};

for (const c of vectors.encode) {
  test(`encode: ${c.name}`, () => {
    const bytes = c.json ? encodeJson(c.json) : encodeFrame(Buffer.from(c.audio_hex!, 'hex'));
    assert.equal(bytes.toString('hex'), c.hex);
  });
}

for (const c of vectors.decode) {
  test(`decode: ${c.name}`, () => {
    const decoder = new FrameDecoder({ maxJsonFrame: c.limits.max_json_frame, maxAudioFrame: c.limits.max_audio_frame });
    const kinds = [...c.kinds];
    const frames: unknown[] = [];
    let error: string | null = null;
    try {
      for (const chunk of c.chunks) {
        for (const frame of decoder.feed(Buffer.from(chunk, 'hex'), () => kinds.shift() ?? 'json')) frames.push(frame);
      }
      decoder.end();
    } catch (e) {
      assert.ok(e instanceof FrameError);
      error = e.code;
    }
    const expected = c.frames.map((f) => (f.json ? f.json : Buffer.from(f.audio_hex!, 'hex')));
    assert.deepEqual(frames, expected);
    assert.equal(error, c.error);
  });
}
