"""OpenAI's Python SDK against the gateway: a diarized transcription, parsed as the SDK's own type.

    python diarized.py BASE_URL AUDIO REFERENCE_NAME REFERENCE_WAV

Prints one JSON line: the type the SDK gave the response, and what it read from it.
"""

import base64
import json
import sys

from openai import OpenAI
from openai.types.audio import TranscriptionDiarized

base_url, audio, name, reference = sys.argv[1:5]
client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=0)
with open(reference, "rb") as f:
    data_url = "data:audio/wav;base64," + base64.b64encode(f.read()).decode()
with open(audio, "rb") as f:
    result = client.audio.transcriptions.create(
        file=f, model="gpt-4o-transcribe-diarize", response_format="diarized_json", chunking_strategy="auto",
        known_speaker_names=[name], known_speaker_references=[data_url],
    )
print(json.dumps({
    "type": type(result).__name__,
    "is_diarized": isinstance(result, TranscriptionDiarized),
    "task": result.task,
    "duration": result.duration,
    "usage": {"class": type(result.usage).__name__, "type": result.usage.type, "seconds": result.usage.seconds} if result.usage else None,
    "segments": [{"type": s.type, "id": s.id, "speaker": s.speaker, "text": s.text} for s in result.segments],
}))
