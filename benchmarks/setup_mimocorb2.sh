#!/usr/bin/env bash
# Make benchmarks/.venv-mimocorb2: a Python 3.12 virtualenv with mimocorb2 0.0.4 from PyPI
# (mimocorb2 needs Python >= 3.12; flowc itself runs on 3.11). Safe to run again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-mimocorb2"
python312="${PYTHON312:-$HOME/.pyenv/versions/3.12.1/bin/python}"

if [ ! -x "$python312" ]; then
    python312="$(command -v python3.12 || true)"
fi
if [ -z "$python312" ] || [ ! -x "$python312" ]; then
    echo "setup_mimocorb2.sh: no Python 3.12 found; set PYTHON312=/path/to/python3.12" >&2
    exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python312" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# the same numpy as flowc's interpreter, so both copy arrays with the same code (numpy 2.5
# copies structured arrays several times faster than 2.4)
flowc_python="${PYTHON:-python}"
numpy_version="$("$flowc_python" -c 'import numpy; print(numpy.__version__)' 2>/dev/null || true)"
if [ -n "$numpy_version" ] && "$venv/bin/python" -m pip install --quiet "mimocorb2==0.0.4" psutil "numpy==$numpy_version"; then
    echo "numpy $numpy_version, as in $flowc_python"
else
    echo "setup_mimocorb2.sh: could not match flowc's numpy ${numpy_version:-(none found)}; using the newest" >&2
    "$venv/bin/python" -m pip install --quiet "mimocorb2==0.0.4" psutil
fi
"$venv/bin/python" -c "import mimocorb2, numpy, psutil; print('mimocorb2 ready:', '$venv')"
