"""protocol/schema/messages.schema.json: the one definition of every message, loaded once.

The worker checks each request against its command's definition and turns the
most relevant refusal into one short sentence that names the field, by its
dotted path, and what it accepts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_PATH = Path(__file__).parents[3] / "protocol" / "schema" / "messages.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
Draft202012Validator.check_schema(SCHEMA)
DEFINITIONS: dict[str, Any] = SCHEMA["$defs"]
LANGUAGES: tuple[str, ...] = tuple(DEFINITIONS["Language"]["enum"])
# How a request's handler, or a live stream, sends one message to its client: awaited, so a slow client holds it back.
Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]

TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "null": "null",
    "object": "an object",
    "array": "a list",
}
BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "more than",
    "exclusiveMaximum": "less than",
}


@cache
def validator(definition: str) -> Draft202012Validator:
    """Checks an instance against one of the schema's `$defs` (its references resolve in the whole schema)."""
    if definition not in DEFINITIONS:
        raise KeyError(f"the protocol schema has no definition {definition!r}")
    return Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{definition}"})


def problem(definition: str, instance: Any) -> str | None:
    """None when `instance` matches `definition`; else what is wrong with it, for a person."""
    error = best_match(validator(definition).iter_errors(instance))
    return None if error is None else explain(error)


def explain(error: ValidationError) -> str:
    path = list(error.absolute_path)
    where, got, value = field_name(path), shown(error.instance), error.validator_value
    match error.validator:
        case "required":
            missing = next(name for name in value if name not in error.instance)
            return f"{field_name([*path, missing])} is required"
        case "additionalProperties":
            accepted = list(error.schema.get("properties", {}))
            unknown = sorted(set(error.instance) - set(accepted))
            command = error.instance.get("command") if not path else None
            scope = f" for {command}" if isinstance(command, str) else ""
            return f"unknown field {field_name([*path, unknown[0]])}{scope}; accepted: {', '.join(accepted) or 'none'}"
        case "type":
            return f"{where} must be {_types(value)} (got {got})"
        case "enum" if tuple(value) == LANGUAGES:
            return _not_a_language(where, got)
        case "anyOf" | "oneOf" if any(tuple(e.validator_value) == LANGUAGES for e in error.context or () if e.validator == "enum"):
            return _not_a_language(where, got)
        case "anyOf" | "oneOf":
            return f"{where} must be {' or '.join(expects(branch) for branch in value)} (got {got})"
        case "enum":
            return f"{where} must be one of {', '.join(shown(v) for v in value)} (got {got})"
        case "const":
            return f"{where} must be {shown(value)} (got {got})"
        case "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum":
            return f"{where} must be {BOUNDS[str(error.validator)]} {shown(value)} (got {got})"
        case "minLength" if value == 1:
            return f"{where} must not be empty"
        case "minLength" | "maxLength":
            bound = "at least" if error.validator == "minLength" else "at most"
            return f"{where} must be {bound} {value} characters long (got {len(error.instance)})"
        case "minItems" | "maxItems":
            bound = "at least" if error.validator == "minItems" else "at most"
            return f"{where} must hold {bound} {value} {'value' if value == 1 else 'values'} (got {got})"
    return f"{where} is not valid: {error.message[:200]}"


def expects(subschema: dict[str, Any]) -> str:
    """What a (sub)schema accepts, in a few words: for the branches of an anyOf."""
    if "$ref" in subschema:
        return expects(DEFINITIONS[subschema["$ref"].rsplit("/", 1)[-1]])
    if "enum" in subschema:
        return "a language code" if tuple(subschema["enum"]) == LANGUAGES else "one of " + ", ".join(map(shown, subschema["enum"]))
    if "anyOf" in subschema or "oneOf" in subschema:
        return " or ".join(expects(branch) for branch in subschema.get("anyOf") or subschema["oneOf"])
    words = _types(subschema.get("type", []))
    low, high = subschema.get("minimum"), subschema.get("maximum")
    if low is not None and high is not None:
        words += f" from {shown(low)} to {shown(high)}"
    return words or "a value"


def field_name(path: Sequence[str | int]) -> str:
    """`options.vad_parameters.threshold`, quoted; list items as `[i]`."""
    if not path:
        return "the request"
    dotted = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    return f"'{dotted}'"


def shown(value: Any) -> str:
    """A value as a person reads it; never a whole nested structure."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return "an object"


def _types(names: str | list[str]) -> str:
    return " or ".join(TYPE_NAMES.get(name, name) for name in ([names] if isinstance(names, str) else names))


def _not_a_language(where: str, got: str) -> str:
    return f"{where}: {got} is not a language Whisper knows; use an ISO-639-1 code such as en, de, ru, or null to detect it"
