"""Speaker diarization: who spoke when, and which words are whose.

Local speakers per chunk (segmentation.py, activity.py), an embedding per chunk and local speaker (embedding.py),
global speakers from the embeddings (cluster.py), the global timeline (turns.py), speakers given by name (known.py),
and words and segments labelled with their speaker (assign.py)."""
