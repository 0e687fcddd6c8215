#!/usr/bin/env bash
# The detection core compiled with mypyc (setup.py, DOSSIERWATCH_COMPILE=1) as a wheel,
# unpacked into DEST: `PYTHONPATH=DEST` then runs the package with its compiled modules
# (they are found before the editable install's sources).  The wheel is built from the
# tracked files copied outside the tree, since setuptools and mypyc write build/ beside
# the sources.  Needs a C compiler and the Python headers (.ci/run installs them).
#
#   bash deploy/build-compiled.sh build/compiled
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:?usage: build-compiled.sh DEST}"
python="${PYTHON:-$repo/.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mkdir "$work/src"
git -C "$repo" ls-files -z streams producers alerts pyproject.toml setup.py \
  | (cd "$repo" && xargs -0 tar cf -) | tar xf - -C "$work/src"
DOSSIERWATCH_COMPILE=1 "$python" -m pip wheel --quiet --no-deps --no-build-isolation \
  -w "$work/wheels" "$work/src"
rm -rf "$dest"
"$python" -m pip install --quiet --no-deps --target "$dest" "$work"/wheels/dossierwatch-*.whl
echo "compiled: $(cd "$dest" && ls streams/core/*.so | wc -l) modules of streams/core, in $dest"
