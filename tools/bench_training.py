"""Benchmark AdaPT against end-to-end finetuning in one process: whole runs (`--fit`) or single steps (the default).

`--fit OUT.jsonl`: for each seed, trains E2E and each AdaPT selection rule one after the other in this process
(`run_method` on a stratified slice of `--n_train` training examples drawn with the seed, whole valid and test splits,
max_length 64, package defaults otherwise), appends one JSON line per run to OUT.jsonl (a run already there is not
repeated) and prints test macro-F1 and the ratios AdaPT / E2E of training FLOPs per epoch, wall-clock training time
and peak memory, per seed and over the seeds. Rules: `adapt` (the package default: no FLOP cap), `adapt@F` (FLOP budget
F), `sensitivity` (eq. 6, no FLOP budget), `random`, `top` (references, no FLOP budget), `e2e`.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_training.py --fit results/cost_rt.jsonl \
        --task rotten_tomatoes --rules e2e adapt sensitivity --seeds 0 1 2
    .venv/bin/python tools/bench_training.py --fit results/cost_rt.jsonl --table

Without `--fit`: prints, per training step (forward + backward + optimizer step) on identical batches of the embedded
Rotten Tomatoes task (`--task_tokens`: with task tokens), for E2E, AdaPT's default selection (no FLOP cap) and one
under a FLOP cap (`--max_flops`, default 0.6): median wall and CPU time and their ratio to E2E, the FLOPs per epoch (torch.utils.flop_counter) against
E2E's and the selection's prediction; and the padding saved by length-grouped batches over random batches.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_training.py --steps 12
"""
import argparse, os, time, warnings
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")
import numpy as np, torch


RULES = dict(e2e=('e2e', {}), adapt=('adapt', {}), sensitivity=('adapt', dict(max_flops=None)),
             random=('adapt', dict(selection='random', max_flops=None)),
             top=('adapt', dict(selection='top', max_flops=None)))
LRS = dict(icd10cm=dict(adapt=1e-3, e2e=2e-4))   # chosen on valid (10_experiments); other tasks: the methods' own


def rule(name:str)->tuple:
    "The method and settings of a rule name (`adapt@0.6`: AdaPT with max_flops=0.6)."
    if name.startswith('adapt@'): return 'adapt', dict(max_flops=float(name.split('@')[1]))
    if name not in RULES: raise SystemExit(f"unknown rule {name!r}: use {list(RULES)} or adapt@F")
    return RULES[name]


def fit(task, name:str, seed:int, n_train:int, extra:dict, tag:str=None)->dict:
    "One whole run of a rule (with `extra` settings on top, recorded under `tag`): its scores and costs."
    from adapt_nb.methods import run_method
    method, kw = rule(name)
    extra = dict(extra)
    lr = extra.pop('lr', LRS.get(task.name, {}).get(method))
    r = run_method(method, task, n_train=n_train, seed=seed, max_length=64, progress=False, device='cpu', lr=lr,
                   **{**kw, **extra})
    c, sel = r.costs, r.selection
    return dict(task=task.name, rule=tag or name, seed=seed, n_train=n_train, lr=r.lr, settings={**kw, **extra},
                valid=(r.valid_metrics or {}).get('macro_f1'), test=r.metrics['macro_f1'],
                flops_per_epoch=c.get('flops_per_epoch'), train_s=c.get('train_s'), peak_mem=c.get('peak_mem_bytes'),
                build_s=c.get('build_s'), total_s=c.get('total_s'),
                share=c.get('trainable_share'), epochs_run=c.get('epochs_run'), n_task=c.get('n_task_tokens', 0),
                flops_share_predicted=None if sel is None else sel.table.attrs.get('flops_share'),
                modules=None if sel is None else sel.modules, load=os.getloadavg()[0])


def ratios(df):
    "Per rule: test macro-F1 (mean, std), and AdaPT / E2E of FLOPs, time and memory (same seed, then averaged)."
    import pandas as pd
    e = df[df.rule == 'e2e'].set_index('seed')
    rows = []
    for r, g in df.groupby('rule', sort=False):
        g = g.set_index('seed')
        k = g.index.intersection(e.index)
        rows.append(dict(rule=r, seeds=len(g), test=g.test.mean(), test_sd=g.test.std(), valid=g.valid.mean(),
                         flops=(g.flops_per_epoch[k] / e.flops_per_epoch[k]).mean(),
                         time=(g.train_s[k] / e.train_s[k]).mean(), memory=(g.peak_mem[k] / e.peak_mem[k]).mean(),
                         time_all=((g.train_s[k] + g.build_s[k]) / (e.train_s[k] + e.build_s[k])).mean(),
                         tflops_epoch=g.flops_per_epoch.mean() / 1e12, train_s=g.train_s.mean()))
    return pd.DataFrame(rows).round(4)


def fit_main(a):
    import json, pandas as pd
    pd.set_option('display.width', 200)
    if a.table:
        df = pd.DataFrame(map(json.loads, open(a.fit)))
        for t, g in df.groupby('task'): print(t); print(ratios(g).to_string(index=False))
        return
    from adapt_nb.data import load_embedded
    task = load_embedded(a.task, seed=0)
    done = {(r['task'], r['rule'], r['seed'], r['n_train']) for r in map(json.loads, open(a.fit))} \
        if os.path.exists(a.fit) else set()
    extra = json.loads(a.settings) if a.settings else {}
    for seed in a.seeds:
        for name in a.rules:
            tag = f'{name}{a.tag}' if a.tag else name
            if (task.name, tag, seed, a.n_train) in done: continue
            rec = fit(task, name, seed, a.n_train, extra, tag)
            with open(a.fit, 'a') as f: f.write(json.dumps(rec, default=str) + '\n')
            print(f"{name} seed {seed}: valid {rec['valid']:.4f} test {rec['test']:.4f}, "
                  f"{rec['flops_per_epoch'] / 1e12:.2f} TFLOPs/epoch, {rec['train_s']:.0f} s, "
                  f"{rec['peak_mem'] / 2**20:.0f} MB", flush=True)
    df = pd.DataFrame(map(json.loads, open(a.fit)))
    print(ratios(df[df.task == task.name]).to_string(index=False))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fit", help="whole runs: append them to this JSON-lines file")
    ap.add_argument("--table", action="store_true", help="with --fit: print the ratios of the runs in the file")
    ap.add_argument("--task", default="rotten_tomatoes")
    ap.add_argument("--rules", nargs="*", default=["e2e", "adapt"])
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--tag", help="with --settings: a suffix for the rule names in the records (e.g. _lr1e-3)")
    ap.add_argument("--settings", help="JSON of AdaptConfig settings for every run (e.g. '{\"task_tokens\": false}')")
    ap.add_argument("--n_train", type=int, default=None, help="training examples (default: 3000 with --fit, else 1024)")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--budget", type=float, default=0.1)
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--max_flops", type=float, default=0.6, help="steps mode: the capped selection's FLOP budget")
    ap.add_argument("--task_tokens", action="store_true", help="steps mode: with task tokens (RT's default: without)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.fit:
        a.n_train = a.n_train or 3000
        return fit_main(a)
    a.n_train = a.n_train or 1024
    steps_main(a)


def steps_main(a):
    "Per-step timings of E2E and two AdaPT selections (the default, and one under a FLOP cap) on the same batches."
    from transformers.utils import logging as hl
    hl.set_verbosity_error(); hl.disable_progress_bar()
    from adapt_nb.config import AdaptConfig
    from adapt_nb.data import load_rotten_tomatoes
    from adapt_nb.models import load_classifier
    from adapt_nb.tokenization import TaskTokenizer, resize_token_embeddings
    from adapt_nb.pipeline import select_trainable
    from adapt_nb.batching import task_dataloaders
    from adapt_nb.learner import classifier_learner, SparseFinetune
    from adapt_nb.costs import measure_costs
    print(f"load average {os.getloadavg()[0]:.2f} (2-core VM, one torch thread)")
    task = load_rotten_tomatoes(seed=0).subsample(n_train=a.n_train, seed=0)
    tok = load_classifier("minilm", 2, task.label_names)[1]
    if a.task_tokens:
        tok = TaskTokenizer.from_texts(tok, task.train['text'].tolist())
        print(f"{tok.n_task} task tokens mined on {len(task.train)} snippets")
    rules = {"adapt": dict(budget=a.budget), f"cap {a.max_flops}": dict(budget=a.budget, max_flops=a.max_flops),
             "e2e": None}
    learners, preds = {}, {}
    for k, kw in rules.items():
        torch.manual_seed(0)
        m = load_classifier("minilm", 2, task.label_names)[0]
        if a.task_tokens: resize_token_embeddings(m, tok, seed=0)
        cbs = None
        if kw is not None:
            sel = select_trainable(m, tok, task, AdaptConfig(progress=False, **kw))
            cbs, preds[k] = [SparseFinetune(sel)], sel.table.attrs.get('flops_share')
        learners[k] = classifier_learner(m, task_dataloaders(task, tok, bs=a.bs, seed=0), lr=1e-4, cbs=cbs)
    for l in learners.values(): l.create_opt()
    batches = [bt for _, bt in zip(range(a.steps), learners["e2e"].dls.train)]
    times = {k: [] for k in learners}
    for i, (xb, yb) in enumerate(batches):           # interleaved, so that load changes hit every method alike
        for k, l in learners.items():
            l.model.train()
            w, c = time.perf_counter(), time.process_time()
            loss = l.loss_func(l.model(xb), yb); loss.backward(); l.opt.step(); l.opt.zero_grad()
            if i > 0: times[k].append((time.perf_counter() - w, time.process_time() - c))   # step 0 is warm-up
    med = {k: np.median(np.array(v), 0) for k, v in times.items()}
    costs = {k: measure_costs(l, n_batches=4) for k, l in learners.items()}
    fe = costs["e2e"]["flops_per_epoch"]
    for k, (w, c) in med.items():
        fl = costs[k]["flops_per_epoch"]
        print(f"{k:9s}: median step {w*1000:.0f} ms wall ({w/med['e2e'][0]:.3f} of E2E), {c*1000:.0f} ms CPU; "
              f"{fl/1e12:.2f} TFLOPs/epoch ({fl/fe:.3f} of E2E" +
              (f", predicted {preds[k]:.3f})" if preds.get(k) is not None else ")") +
              f"; {costs[k]['trainable_share']:.1%} of parameters")
    dl = learners["e2e"].dls.train
    L = dl.lengths
    idx = np.array(dl.get_idxs()); rnd = np.random.default_rng(0).permutation(len(L))
    def padded(order): return sum(int(L[order[s:s+a.bs]].max()) * len(order[s:s+a.bs]) for s in range(0, len(order), a.bs))
    print(f"padded tokens per epoch: length-grouped {padded(idx):,}, random {padded(rnd):,} "
          f"(ratio {padded(idx)/padded(rnd):.3f}; real tokens {int(L.sum()):,})")


if __name__ == "__main__":
    main()
