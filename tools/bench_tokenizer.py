"""Benchmark: TaskTokenizer batch encoding against the bare Hugging Face fast tokenizer, same process, same texts.

Acceptance (issue 4): at most 1.25x the bare tokenizer's time for batch encoding on the RT corpus; the mean
number of tokens added per input is reported.

    OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false .venv/bin/python tools/bench_tokenizer.py [--model minilm|smollm2]

Task sequences: Alg. 1 (`select_task_sequences`, its defaults) on the RT training split with --max_gap (matching uses
the same). Timings: the median of --repeats interleaved runs of each encoder on all 12,752 RT
snippets.
"""
import argparse, os, statistics, time
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from transformers import AutoTokenizer
from adapt_nb.data import load_rotten_tomatoes
from adapt_nb.models import embedded_path
from adapt_nb.sequences import select_task_sequences
from adapt_nb.tokenization import TaskTokenizer


def timed(f, texts):
    t0 = time.perf_counter(); out = f(texts); return time.perf_counter() - t0, out


def compare(tok, tt, texts, repeats):
    "Median times of the bare and the task tokenizer, interleaved, for lists and for padded tensors."
    cases = {'lists (no padding)': {},
             'padded tensors, max_length 128': dict(padding=True, truncation=True, max_length=128, return_tensors='pt')}
    tt(texts[:100]); tok(texts[:100])                                   # warm-up (numba compilation, caches)
    for name, kw in cases.items():
        tb, tx = [], []
        for _ in range(repeats):
            tb.append(timed(lambda x: tok(x, **kw), texts)[0]); tx.append(timed(lambda x: tt(x, **kw), texts)[0])
        mb, mx = statistics.median(tb), statistics.median(tx)
        print(f'  {name:32s} bare {mb:.3f} s  task {mx:.3f} s  ratio {mx/mb:.2f}x  (target <= 1.25x)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='minilm'); ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--min_support', type=int, default=5)
    ap.add_argument('--max_gap', default='0', help="an int k >= 0 (0: contiguous, the default) or 'any'")
    a = ap.parse_args()
    max_gap = None if a.max_gap == 'any' else int(a.max_gap)
    d, g = embedded_path(a.model)
    tok = AutoTokenizer.from_pretrained(str(d), **({'gguf_file': g} if g else {}))
    if tok.pad_token is None: tok.pad_token = tok.eos_token
    rt = load_rotten_tomatoes(seed=0)
    t0 = time.perf_counter()
    sel = select_task_sequences(tok, rt.train.text.tolist(), min_support=a.min_support, max_gap=max_gap, max_length=64)
    tt = TaskTokenizer(tok, sel)
    print(f'{a.model}: max_gap={max_gap}: {sel.n_candidates} closed patterns, kept {len(sel)} in '
          f'{time.perf_counter() - t0:.1f} s (max_tokens {sel.max_tokens}, pplx <= {sel.pplx_cutoff:.3g}, '
          f'support >= {sel.freq_cutoff})')
    texts = [*rt.train.text, *rt.valid.text, *rt.test.text]
    compare(tok, tt, texts, a.repeats)
    base_len = np.array([len(r) for r in tok(texts)['input_ids']])
    added = np.array([len(r) for r in tt(texts)['input_ids']]) - base_len
    print(f'  {len(texts)} RT snippets: mean {base_len.mean():.1f} base tokens, mean {added.mean():.2f} task tokens '
          f'added per input (median {np.median(added):.0f}, max {added.max()}), {(added > 0).mean():.1%} of inputs '
          'get at least one')


if __name__ == '__main__': main()
