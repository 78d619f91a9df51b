#!/usr/bin/env bash
# Fill .gpu/ for a GPU session (README.md beside this); arguments: the chapters to train there.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${KDHELPERS_DATA:-../shared/data}
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/d1 .gpu/d2 .gpu/d3 .gpu/whl .gpu/store
split -n 3 -d -a 1 "$data/cifar10.npz" .gpu/part_
mv .gpu/part_0 .gpu/d1/ && mv .gpu/part_1 .gpu/d2/ && mv .gpu/part_2 .gpu/d3/
sha256sum "$data/cifar10.npz" | cut -c1-64 > .gpu/whl/cifar10.sha256
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  -d .gpu/whl $(grep -oE "^(keras|namex|optree)==[^ ]+" requirements/lock.txt)
.venv/bin/python scripts/device/gather_store.py .gpu/store "$@"
echo "$*" > .gpu/store/.chapters
cp scripts/device/train.sh .gpu/train.sh
[ -L artifacts ] || [ ! -d artifacts ] || mv artifacts ../store_main
du -sh .gpu/*; echo "artifacts/ is now ../store_main: point the background job there"
