#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use (test audio, the
# speech synthesiser, ffmpeg/sox and a browser). The services themselves need
# none of them: PyAV ships its own FFmpeg libraries.
set -euo pipefail
need=()
command -v ffmpeg   >/dev/null 2>&1 || need+=(ffmpeg)
command -v sox      >/dev/null 2>&1 || need+=(sox)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || need+=(pocketsphinx-testdata)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}" >&2
