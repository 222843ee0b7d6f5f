"""Does sensitivity earn its place? AdaPT's module selection against simpler rules at the same budget (issue 13).

Each variant is `adapt()` with the package's recipe on a 3,000-snippet training slice of the embedded Rotten Tomatoes
task (`n_train=3000`, the slice drawn with the run's seed), whole valid and test splits, no task tokens, 10% budget,
4 epochs (best valid epoch kept), seeds 0-2. Variants:

- raw:      S of eq. 6 on rank-normalised I and G, I of the raw statistic (eq. 3 read literally), beta 0.1
- adj_b1e-3 / adj_b1: I relative to inputs of similar length (`length_adjust=True`), beta 1e-3 / 1
- top:      the top layers first (`selection='top'`)
- random:   a seeded random order of the units (`selection='random'`)

One row per run is appended to the results CSV (skipping runs already in it):

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/sensitivity_ablation.py results/sensitivity_ablation.csv
"""
import os, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from adapt_nb.training import adapt
from adapt_nb.experiments import append_result, read_results

BASE = dict(n_train=3000, task_tokens=False, epochs=4, budget=0.1, progress=False, count_flops=0, device='cpu')
VARIANTS = dict(raw=dict(length_adjust=False, normalize='rank', beta=0.1),
                adj_b1e_3=dict(length_adjust=True, normalize='rank', beta=1e-3),
                adj_b1=dict(length_adjust=True, normalize='rank', beta=1.0),
                top=dict(selection='top'), random=dict(selection='random'))

def run(variant:str, seed:int)->dict:
    "One AdaPT run of a variant: test and valid macro-F1 (best valid epoch), the selected units, time."
    t0 = time.perf_counter()
    r = adapt(None, seed=seed, **BASE, **VARIANTS[variant])
    return dict(key=f'{variant}/{seed}', variant=variant, seed=seed, test_macro_f1=r.metrics['macro_f1'],
                valid_macro_f1=r.valid_metrics['macro_f1'], best_epoch=r.valid_metrics.get('epoch'),
                share=r.costs['trainable_share'], modules=r.selection['modules'], seconds=time.perf_counter() - t0)

if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else 'results/sensitivity_ablation.csv'
    done = set(read_results(out)['key']) if os.path.exists(out) else set()
    for seed in (0, 1, 2):
        for v in VARIANTS:
            if f'{v}/{seed}' in done: continue
            row = run(v, seed)
            append_result(out, row)
            print(f"{v} seed {seed}: test {row['test_macro_f1']:.4f} valid {row['valid_macro_f1']:.4f}", flush=True)
