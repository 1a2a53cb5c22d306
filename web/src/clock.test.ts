// The page's times, to the second and to a tenth.
//   node --test src/clock.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clock } from './clock.ts';

test('to the second: m:ss, h:mm:ss past an hour, never negative', () => {
  assert.deepEqual([clock(0), clock(3.4), clock(61.6), clock(3725), clock(-1)], ['0:00', '0:03', '1:02', '1:02:05', '0:00']);
});

test('to a tenth', () => {
  const tenths = (s: number) => clock(s, { tenths: true });
  assert.deepEqual([tenths(0), tenths(3.46), tenths(61.25), tenths(3725.04), tenths(-1)], ['0:00.0', '0:03.5', '1:01.3', '1:02:05.0', '0:00.0']);
});
