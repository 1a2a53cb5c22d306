import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, errorBody, fromJobError } from '../errors.ts';
import { toApiError } from './error-handler.ts';

test('status and type come from the one table', () => {
  assert.deepEqual(errorBody(new ApiError('file_too_large')).error.type, 'invalid_request_error');
  assert.equal(new ApiError('file_too_large').status, 413);
  assert.equal(errorBody(new ApiError('no_worker')).error.type, 'service_unavailable');
  assert.equal(errorBody(new ApiError('internal')).error.type, 'server_error');
  assert.deepEqual(errorBody(new ApiError('unknown_language', 'Unknown language xx', 'language')).error, {
    message: 'Unknown language xx', type: 'invalid_request_error', param: 'language', code: 'unknown_language',
  });
});

test('unknown failures become internal without leaking details', () => {
  const e = toApiError(new Error('secret at /x/y.ts:10'));
  assert.equal(e.code, 'internal');
  assert.doesNotMatch(e.message, /secret/);
  assert.equal(fromJobError('weird_code', 'boom').code, 'internal');
  assert.equal(fromJobError('undecodable_audio', 'ffmpeg said no').message, 'ffmpeg said no');
  assert.equal(toApiError({ code: 'FST_REQ_FILE_TOO_LARGE' }).code, 'file_too_large');
});
