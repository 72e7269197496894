#!/usr/bin/env bash
# Create the benchmark-only simglucose venv: .venv-simglucose at the repository root.
#
# simglucose 0.2.11 imports gym 0.9.4 at import time and needs numpy < 2, so it lives in
# its own venv, never in pkgym's .venv. benchmarks/simglucose/reference.py runs inside it:
#
#     bash benchmarks/simglucose/setup_venv.sh
#     .venv-simglucose/bin/python benchmarks/simglucose/reference.py throughput
#
# Idempotent: an existing venv is reused and only brought to requirements.txt.
# SIMGLUCOSE_VENV overrides the location; PYTHON the interpreter (Python 3.11 expected).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${SIMGLUCOSE_VENV:-$root/.venv-simglucose}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q -r "$here/requirements.txt"
"$venv/bin/python" -c "import simglucose.patient.t1dpatient, importlib.metadata as m; \
print('simglucose', m.version('simglucose'), 'numpy', m.version('numpy'), 'in', '$venv')"
