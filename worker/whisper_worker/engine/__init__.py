"""Whisper itself: audio files to samples (audio.py), model names and the cache of loaded models (models.py,
loader.py), decoding options (options.py), a transcription in a thread (transcriber.py), short windows
(windows.py), concurrent transcriptions sharing CTranslate2 calls (batching.py), memory for `status` (memory.py).
Knows nothing of sockets or live streams. Speaker diarization, when it comes, goes in engine/diarize/."""
