"""Checks of the HTTP API's fuzz (../openapi-fuzz.test.ts) beyond schemathesis's own.

Loaded by schemathesis (SCHEMATHESIS_HOOKS): nothing here is imported by the service.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import schemathesis

# The routes that take a multipart form with a file.
FORMS = {"POST /api/transcribe", "POST /api/jobs", "POST /api/detect-language", "POST /v1/audio/transcriptions", "POST /v1/audio/translations"}
# What a form the document calls valid may still be refused for, by what its values name or
# hold rather than by their shape: a model, or a language, the workers lack; a file (random
# bytes, here) that does not decode, or an empty one (the document says minLength 1, which
# schemathesis does not apply to binary strings); a callback_url whose host is not in
# WEBHOOK_ALLOWED_HOSTS; an English-only model asked to detect a language (the fuzz's models all are), or to
# transcribe one other than English.
BY_CONTENT = {
    "undecodable_audio", "audio_too_long", "unknown_model", "model_unavailable", "unknown_language", "file_empty", "english_only_model",
    "unsupported_language",
}
# JSON keys the gateway refuses anywhere in a body (400 bad_request): Fastify's guard against
# prototype poisoning, which a schema cannot express.
PROTOTYPE_KEYS = {"__proto__", "constructor"}


def _error(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


# Speech (FUZZ_AUDIO, a short WAV) for valid forms, so that their answers (200 in JSON, text,
# subtitles or events; a job that succeeds, and its result) are checked against the document
# too, not only the refusals of undecodable files. A transcription takes about a second on a
# small CPU, so a valid form carries the speech only until its route has answered one form of
# the same response_format and stream with success: each format once per route, and once more
# for jobs in the stateful phase (whose scenarios then read a succeeded job's result).
AUDIO = Path(os.environ["FUZZ_AUDIO"]).read_bytes() if os.environ.get("FUZZ_AUDIO") else None
_answered: set[tuple[str, ...]] = set()


def _variant(case: Any) -> tuple[str, ...] | None:
    """The kind of answer a valid form asks for, or None when it is not to carry speech."""
    meta = case.meta
    if AUDIO is None or meta is None or not meta.generation.mode.is_positive or case.operation.label not in FORMS:
        return None
    body = case.body
    if not isinstance(body, dict) or "file" not in body:
        return None
    stateful = meta.phase.name.value == "stateful"
    if stateful and case.operation.label != "POST /api/jobs":
        return None
    stream = str(body.get("stream")).lower() == "true"
    fmt = "events" if stream else str(body.get("response_format", "json"))
    return ("stateful" if stateful else "generation", case.operation.label, fmt)


# Only on the forms: a map hook on a strategy of other operations trips hypothesis's health
# check ("too many examples filtered out") for POST /api/jobs/{id}/cancel.
@schemathesis.hook.apply_to(name=sorted(FORMS))
def map_case(context: Any, case: Any) -> Any:
    variant = _variant(case)
    if variant is not None and variant not in _answered:
        case.body["file"] = AUDIO
    return case


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    variant = _variant(case)
    if variant is not None and 200 <= response.status_code < 300 and case.body.get("file") is AUDIO:
        _answered.add(variant)


def _has_prototype_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(key in PROTOTYPE_KEYS or _has_prototype_key(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_prototype_key(item) for item in value)
    return False


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    """No generated body carries a `__proto__` or `constructor` key (see PROTOTYPE_KEYS)."""
    return not _has_prototype_key(body)


# Fields whose rules a JSON Schema of a form cannot state: a callback's host must be allowed, and the
# speaker fields hold across fields (min_speakers <= max_speakers, num_speakers between them, a name for each
# reference clip, diarize=false with speaker fields), the VAD's knobs need the VAD on, and prompt and initial_prompt
# are one option. A 400 naming one of them is the server's rule, not a misread form.
ACROSS_FIELDS = {
    "callback_url", "diarize", "num_speakers", "min_speakers", "known_speaker_names[]", "known_speaker_references[]",
    "vad_threshold", "min_silence_duration_ms", "speech_pad_ms", "initial_prompt",
    # /v1: logprobs only with json or a stream; keywords at most 10000 characters joined.
    "include[]", "include", "keywords[]", "keywords",
}


@schemathesis.check
def valid_form_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A form the document calls valid is not refused for its shape.

    The configuration lets these routes answer a valid form with 400 (see BY_CONTENT); this
    check keeps that 400 from hiding a form the server reads otherwise than it documents it
    (a field of the documented type refused as invalid_parameter, say).
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    if case.operation.label not in FORMS:
        return None
    error = _error(response)
    code = error.get("code")
    if code in BY_CONTENT or (code == "invalid_parameter" and error.get("param") in ACROSS_FIELDS):
        return None
    raise AssertionError(f"A form valid by the document was refused: {code} ({error.get('message')})")


@schemathesis.check
def deleted_job_gone(ctx: Any, response: Any, case: Any) -> bool | None:
    """A job that DELETE removed (204) is gone: no later read in the scenario finds it.

    That includes its audio (GET /api/jobs/{id}/audio), which a succeeded job keeps (KEEP_AUDIO, on here)
    until it is deleted: 404 after the DELETE, never the file.
    """
    internals = getattr(ctx, "internals", None)
    if internals is None or case.operation.method.upper() != "GET" or not 200 <= response.status_code < 300:
        return None
    job = (case.path_parameters or {}).get("id")
    if job is None:
        return None
    for related in internals.find_related(case_id=case.id):
        if related.id == case.id or related.operation.label != "DELETE /api/jobs/{id}":
            continue
        deleted = internals.find_response(case_id=related.id)
        if deleted is not None and deleted.status_code == 204 and (related.path_parameters or {}).get("id") == job:
            raise AssertionError(f"Job {job} was deleted (204), yet {case.operation.label} answers {response.status_code}")
    return None


@schemathesis.check
def valid_rename_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A rename of speakers the document calls valid is refused (400) only for what the job holds.

    Its keys must be speakers of the job (their ids or names), and the job must have speakers:
    the document cannot say which, so the configuration lets PATCH /api/jobs/{id} answer a
    valid body with 400; this check keeps that 400 to invalid_parameter on `speakers`.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    if case.operation.label != "PATCH /api/jobs/{id}":
        return None
    error = _error(response)
    param = str(error.get("param") or "")
    if error.get("code") == "invalid_parameter" and (param == "speakers" or param.startswith("speakers.")):
        return None
    raise AssertionError(f"A rename valid by the document was refused: {error.get('code')} ({error.get('message')})")


# What of a transcript edit the document cannot say: segments in time order, an end at or
# after its start, within the audio, words within their segment, speakers the job has; and
# for a restore, a revision the job has.
_EDIT_PARAM = re.compile(r"^segments\[\d+\]\.(start|end|speaker|words\[\d+\](\.end)?)$")


@schemathesis.check
def valid_edit_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """A transcript edit (or restore) the document calls valid is refused (400) only for what depends on the job or on order.

    The configuration lets PUT /api/jobs/{id}/transcript and POST …/restore answer a valid body
    with 400; this check keeps that 400 to invalid_parameter on a segment's times, speaker or
    words (PUT), or on `revision` (restore).
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    label = case.operation.label
    if label not in ("PUT /api/jobs/{id}/transcript", "POST /api/jobs/{id}/transcript/restore"):
        return None
    error = _error(response)
    param = str(error.get("param") or "")
    if error.get("code") == "invalid_parameter" and (_EDIT_PARAM.match(param) or (param == "revision" and label.endswith("/restore"))):
        return None
    raise AssertionError(f"A transcript edit valid by the document was refused: {error.get('code')} ({error.get('message')})")
