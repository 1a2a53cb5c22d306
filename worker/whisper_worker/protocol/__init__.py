"""The wire (protocol/PROTOCOL.md): frames on the socket (frames.py), and the messages in them, checked against
protocol/schema/messages.schema.json (messages.py). Knows nothing of models or the server."""
