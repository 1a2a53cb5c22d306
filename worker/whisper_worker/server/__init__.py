"""The worker as a server: the TCP listener (tcp.py), one connection's frames and requests (connection.py), the
table of commands (commands.py), what each command does (worker.py: the Worker), and the slots transcriptions
wait for (slots.py)."""
