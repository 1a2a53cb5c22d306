// The shared message vectors (protocol/vectors/messages.json) against the
// gateway's production reply check, and the schema's view of each request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vectors from '../../../protocol/vectors/messages.json' with { type: 'json' };
import { checkReply, checkRequest, LANGUAGES, ProtocolError, type Command } from './messages.ts';

for (const c of vectors.replies) {
  test(`reply vector: ${c.name}`, () => {
    const check = () => checkReply(c.command as Command, c.reply);
    if (c.valid) assert.doesNotThrow(check);
    else assert.throws(check, ProtocolError);
  });
}

for (const c of vectors.requests) {
  test(`request vector: ${c.name}`, () => {
    assert.equal(checkRequest(c.message as { command?: unknown }), c.error);
  });
}

test('the language list is the schema one, with its odd codes', () => {
  assert.equal(LANGUAGES.length, 100);
  assert.ok(LANGUAGES.includes('haw') && LANGUAGES.includes('yue') && LANGUAGES.includes('en'));
});
