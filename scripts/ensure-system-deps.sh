#!/usr/bin/env bash
# Installs the Debian packages a test suite or benchmark needs, named by what
# they are for: test audio, the speech synthesiser, sox, ffmpeg, a browser,
# a Redis server for the Redis job store's tests (QUEUE_URL).
# The services themselves need none of them (PyAV ships its own FFmpeg).
#   scripts/ensure-system-deps.sh [ffmpeg] [sox] [espeak-ng] [chromium] [librivox] [redis]
# With no argument: all of them.
set -euo pipefail
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(ffmpeg sox espeak-ng chromium librivox redis)
need=()
for what in "${wanted[@]}"; do
  case "$what" in
    librivox) [ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || need+=(pocketsphinx-testdata) ;;
    redis) command -v redis-server >/dev/null 2>&1 || need+=(redis-server) ;;
    ffmpeg|sox|espeak-ng|chromium) command -v "$what" >/dev/null 2>&1 || need+=("$what") ;;
    *) echo "ensure-system-deps: unknown need '$what'" >&2; exit 2 ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >&2
