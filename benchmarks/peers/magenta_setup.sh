#!/usr/bin/env bash
# Set up Magenta 2.1.4 (MusicVAE) on TensorFlow 2.15 CPU in its own venv, for
# benchmarks/peers/magenta_train_speed.py. Optional: nothing else in the project
# needs it, and it is large (about 2 GB on disk).
#
#   bash benchmarks/peers/magenta_setup.sh            # creates benchmarks/peers/.venv-magenta
#   PYTHON=python3.11 bash benchmarks/peers/magenta_setup.sh
#
# TensorFlow 2.15 wheels exist for Python 3.9 to 3.11. The versions below are
# known to install together (the recipe of issue 17): the runtime pieces first,
# then magenta and tensorflow-metadata with --no-deps, so that pip does not
# replace what the first step chose. Running it again reuses the venv.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${MAGENTA_VENV:-$HERE/.venv-magenta}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install \
    tensorflow-cpu==2.15.1 tensorflow-probability==0.23.0 tf-slim==1.1.0 \
    tensorflow-datasets==4.9.4 note-seq==0.0.5
"$PY" -m pip install --no-deps tensorflow-metadata==1.14.0 magenta==2.1.4

# magenta 2.1.4 and its dependencies still use numpy.bool, which numpy 1.24 removed.
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cat > "$SITE/sitecustomize.py" <<'PYEOF'
"""magenta 2.1.4 still uses numpy.bool, which numpy 1.24 removed: put the alias back."""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        import numpy
    except ImportError:
        numpy = None
    if numpy is not None:
        numpy.bool = bool
PYEOF

"$PY" - <<'PYEOF'
import tensorflow as tf
from magenta.models.music_vae import configs  # noqa: F401

print(f"magenta MusicVAE ready: TensorFlow {tf.__version__}")
PYEOF
