#!/usr/bin/env bash
# Create the benchmark-only venv of the peer simulators (anesthesim, hemosim): .venv-peers.
#
# They are measured beside pkgym's Propofol-v0 and Heparin-v0 by
# `python -m benchmarks.acute_care_throughput`, which runs benchmarks/peers/throughput.py in this
# venv, so that pkgym's own venv never depends on them:
#
#     bash benchmarks/peers/setup_venv.sh
#
# Idempotent. PEERS_VENV overrides the location; PYTHON the interpreter (Python 3.11 expected).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${PEERS_VENV:-$root/.venv-peers}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q -r "$here/requirements.txt"
"$venv/bin/python" -c "import importlib.metadata as m; \
print('anesthesim', m.version('anesthesim'), 'hemosim', m.version('hemosim'), 'in', '$venv')"
