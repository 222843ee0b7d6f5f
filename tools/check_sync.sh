#!/usr/bin/env bash
# Fails when the notebooks are not clean or adapt_nb/*.py is out of sync with them,
# i.e. when nbdev_export / nbdev_clean would change a tracked file.
set -euo pipefail
cd "$(dirname "$0")/.."
snap() { git status --porcelain -- nbs adapt_nb; git --no-pager diff -- nbs adapt_nb | sha1sum; }
before=$(snap)
nbdev_export
nbdev_clean
after=$(snap)
if [ "$before" != "$after" ]; then
  echo "nbdev_export/nbdev_clean changed tracked files: run them and commit the result." >&2
  git status --porcelain -- nbs adapt_nb >&2
  git --no-pager diff --stat -- nbs adapt_nb >&2
  exit 1
fi
echo "[check-sync] notebooks clean, modules in sync"
