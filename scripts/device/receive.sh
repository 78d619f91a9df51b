#!/usr/bin/env bash
# Take in the runs a device call returned (README.md beside this). Argument: its files_at.
set -euo pipefail
cd "$(dirname "$0")/../.."
store=${KDHELPERS_ARTIFACTS:-artifacts}
tmp=$(mktemp -d); tar xzf "$1/runs.tgz" -C "$tmp"
for run in $(ls "$tmp"); do
  if grep -qx "$run" .gpu/store/.ids.txt || [ -d "$store/$run" ]; then  # a second training
    mkdir -p "$store/backend_check/$run"
    cp "$tmp/$run"/{config,metrics,history}.json "$store/backend_check/$run/"
    echo "second training: $run"
  else
    cp -r "$tmp/$run" "$store/$run"; echo "new run: $run"
  fi
done
