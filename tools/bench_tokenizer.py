"""Benchmark: TaskTokenizer batch encoding against the bare Hugging Face fast tokenizer, same process, same texts.

Acceptance (issue 4): at most 1.25x the bare tokenizer's time for batch encoding on the RT corpus; the mean
number of tokens added per input is reported.

    OMP_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false .venv/bin/python tools/bench_tokenizer.py [--model minilm|smollm2] [--repeats 7]

Task sequences: closed sequences mined on the RT training split (BIDE from adapt_nb.bide when it exists,
otherwise prefixspan on the first --mine_docs training snippets), with --max_gap (matching uses the same), selected with the default budget
(10% of the vocabulary). Timings: the median of --repeats interleaved runs of each encoder on all
12,752 RT snippets.
"""
import argparse, os, statistics, time
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from transformers import AutoTokenizer
from adapt_nb.data import load_rotten_tomatoes
from adapt_nb.models import embedded_path
from adapt_nb.tokenization import tokenize_corpus, count_ngrams, select_sequences, TaskTokenizer


def mine(db, min_support, mine_docs, max_gap):
    "Closed sequences (items, support) of length 3..20: adapt_nb.bide if present, else prefixspan (any gap only)."
    try:
        from adapt_nb.bide import mine_closed_sequences
        pats = mine_closed_sequences(db, min_support=min_support, min_len=3, max_len=20, max_gap=max_gap, progress=False)
        return [(p.items, p.support) for p in pats], f'adapt_nb.bide (max_gap={max_gap}) on {len(db)} docs'
    except ImportError:
        if max_gap is not None: raise
        from prefixspan import PrefixSpan
        ps = PrefixSpan([d.tolist() for d in db[:mine_docs]]); ps.minlen, ps.maxlen = 3, 20
        return [(tuple(p), s) for s, p in ps.frequent(min_support, closed=True)], f'prefixspan on {min(mine_docs, len(db))} docs'


def timed(f, texts):
    t0 = time.perf_counter(); out = f(texts); return time.perf_counter() - t0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='minilm'); ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--mine_docs', type=int, default=2000); ap.add_argument('--min_support', type=int, default=5)
    ap.add_argument('--max_gap', default='any', help="'any' (BIDE without gap constraint) or an int k >= 0")
    a = ap.parse_args()
    max_gap = None if a.max_gap == 'any' else int(a.max_gap)
    d, g = embedded_path(a.model)
    tok = AutoTokenizer.from_pretrained(str(d), **({'gguf_file': g} if g else {}))
    if tok.pad_token is None: tok.pad_token = tok.eos_token
    rt = load_rotten_tomatoes(seed=0)
    db = tokenize_corpus(tok, rt.train.text.tolist())
    t0 = time.perf_counter(); pats, how = mine(db, a.min_support, a.mine_docs, max_gap); t_mine = time.perf_counter() - t0
    sel = select_sequences(pats, count_ngrams(db, len(tok)), vocab_size=len(tok), max_gap=max_gap)
    tt = TaskTokenizer(tok, sel)
    print(f'{a.model}: {how}: {len(pats)} closed patterns in {t_mine:.1f} s; kept {len(sel)} (budget {sel.budget}, '
          f'pplx <= {sel.pplx_cutoff:.3g}, support >= {sel.freq_cutoff})')
    texts = [*rt.train.text, *rt.valid.text, *rt.test.text]
    cases = {'lists (no padding)': {}, 'padded tensors, max_length 128': dict(padding=True, truncation=True, max_length=128, return_tensors='pt')}
    tt(texts[:100]); tok(texts[:100])                                   # warm-up (numba compilation, caches)
    for name, kw in cases.items():
        tb, tx = [], []
        for _ in range(a.repeats):
            t, base_out = timed(lambda x: tok(x, **kw), texts); tb.append(t)
            t, task_out = timed(lambda x: tt(x, **kw), texts); tx.append(t)
        mb, mx = statistics.median(tb), statistics.median(tx)
        print(f'  {name:32s} bare {mb:.3f} s  task {mx:.3f} s  ratio {mx/mb:.2f}x  (target <= 1.25x)')
    base_len = np.array([len(r) for r in tok(texts)['input_ids']]); task_len = np.array([len(r) for r in tt(texts)['input_ids']])
    added = task_len - base_len
    print(f'  {len(texts)} RT snippets: mean {base_len.mean():.1f} base tokens, mean {added.mean():.2f} task tokens added per input '
          f'(median {np.median(added):.0f}, max {added.max()}), {(added > 0).mean():.1%} of inputs get at least one')


if __name__ == '__main__': main()
