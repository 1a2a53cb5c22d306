"""Live streams (protocol §4, Live streams): speech detection (speech.py), the policy that decides what to decode
and what to trust (policy.py), a live decode in a short window (decode.py), and the stream that drives them on the
event loop (stream.py). The stream reaches the worker only through host.LiveHost: this package never imports the
server."""
