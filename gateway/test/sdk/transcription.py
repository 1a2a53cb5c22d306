"""OpenAI's Python SDK against the gateway: usage, logprobs and the stream's events, parsed into the SDK's own types.

    python transcription.py BASE_URL AUDIO

Prints one JSON line: for each call, the type the SDK gave each answer and what it read from it.
"""

import json
import sys

from openai import OpenAI
from openai.types.audio import (
    Transcription,
    TranscriptionTextDeltaEvent,
    TranscriptionTextDoneEvent,
    TranscriptionTextSegmentEvent,
    TranscriptionVerbose,
)

base_url, audio = sys.argv[1:3]
client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0)


def logprobs(items):
    return None if items is None else [{"token": p.token, "logprob": p.logprob, "bytes": p.bytes} for p in items]


def usage(u):
    # The done event's Usage type declares token counts only: what came is read as it came (the SDK does not validate).
    return None if u is None else {"type": u.type, "seconds": getattr(u, "seconds", None)}


with open(audio, "rb") as f:
    plain = client.audio.transcriptions.create(file=f, model="whisper-1", include=["logprobs"])
with open(audio, "rb") as f:
    verbose = client.audio.transcriptions.create(file=f, model="whisper-1", response_format="verbose_json")
with open(audio, "rb") as f:
    stream = client.audio.transcriptions.create(file=f, model="whisper-1", include=["logprobs"], stream=True)
    events = []
    for event in stream:
        if isinstance(event, TranscriptionTextDeltaEvent):
            events.append({"class": "delta", "delta": event.delta, "logprobs": logprobs(event.logprobs)})
        elif isinstance(event, TranscriptionTextSegmentEvent):
            events.append({
                "class": "segment", "id": event.id, "start": event.start, "end": event.end, "text": event.text,
                "has_speaker": "speaker" in event.model_fields_set,
            })
        elif isinstance(event, TranscriptionTextDoneEvent):
            events.append({"class": "done", "text": event.text, "logprobs": logprobs(event.logprobs), "usage": usage(event.usage)})
        else:
            events.append({"class": type(event).__name__})

print(json.dumps({
    "json": {
        "is_transcription": isinstance(plain, Transcription),
        "text": plain.text,
        "usage": {"class": type(plain.usage).__name__, "type": plain.usage.type, "seconds": plain.usage.seconds} if plain.usage else None,
        "logprobs": logprobs(plain.logprobs),
    },
    "verbose_json": {
        "is_verbose": isinstance(verbose, TranscriptionVerbose),
        "duration": verbose.duration,
        "usage": {"type": verbose.usage.type, "seconds": verbose.usage.seconds} if verbose.usage else None,
    },
    "stream": events,
}))
