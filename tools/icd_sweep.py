"""Learning rates on the second embedded task, ICD-10-CM chapters (issue 21): the package's methods as they are.

Every run is `run_method(name, task, ...)`'s two steps (settings, then the method) on `load_icd10cm(seed=0)`, so that
the result object gives the valid score and the chosen epoch too: a stratified slice of `n_train=3000` training
descriptions drawn with the run's seed, the whole valid (2,447) and test (2,476) splits, max_length 64, no task
tokens, package defaults otherwise. The learning rate of each method is chosen by mean VALID macro-F1 over seeds 0-2;
test is recorded, never used to choose.

Groups (run one with its name, or all in order; finished runs in the results file are skipped):

- time:   one AdaPT run (seed 0, lr 3e-4 = its default), to budget the rest
- tfidf:  TF-IDF + logistic regression, seeds 0-2
- sweep:  e2e lr 5e-5..4e-4, adapt lr 3e-4..3e-3, adalora lr 1e-3..1e-2; seed 0 of every lr first, then 1, then 2
- table:  print mean +- std (over the finished seeds) of valid and test macro-F1 per method and lr; trains nothing

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nice .venv/bin/python tools/icd_sweep.py results/icd_sweep.jsonl [group ...]

The first sweep ran on the greedy split (valid/test of 74/72 large categories, `results/icd_sweep_greedy_split.jsonl`,
learning rates 5e-5..4e-4 for e2e and 3e-4..3e-3 for AdaPT); this one on the category-sampled split (`how='cut'`).
"""
import gc, json, os, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from adapt_nb.data import load_icd10cm
from adapt_nb.methods import run_method

SETTINGS = dict(n_train=3000, max_length=64, progress=False, count_flops=0, device='cpu', task_tokens=False)
SEEDS = (0, 1, 2)
LRS = dict(e2e=(1e-4, 2e-4, 4e-4), adapt=(3e-4, 1e-3, 2e-3), adalora=(1e-3, 3e-3, 1e-2))

def plan(group:str)->list:
    "The (method, lr, seed) of a group's runs, in running order."
    if group == 'time': return [('adapt', 3e-4, 0)]
    if group == 'tfidf': return [('tfidf', None, s) for s in SEEDS]
    if group == 'sweep': return [(m, lr, s) for s in SEEDS for m, lrs in LRS.items() for lr in lrs]
    raise ValueError(f"unknown group {group!r}: choose from time, tfidf, sweep")

def _per_epoch(learn)->list:
    "Train/valid loss and valid macro-F1 of every epoch, from fastai's recorder (None without a learner)."
    if learn is None: return None
    names = learn.recorder.metric_names[1:-1]
    return [{k: float(v) for k, v in zip(names, vals)} for vals in learn.recorder.values]

def run(task, method:str, lr, seed:int)->dict:
    "One run: `run_method`'s settings and method, with the valid score and chosen epoch the flat record leaves out."
    t0 = time.time()
    r = run_method(method, task, seed=seed, lr=lr, **SETTINGS)
    cfg, rec, learn = r.config, r.record(), r.learn
    out = dict(method=method, lr=lr, seed=seed, task_tokens=cfg.task_tokens,
               valid=(r.valid_metrics or {}).get('macro_f1'), test=r.metrics['macro_f1'],
               best_epoch=r.costs.get('best_epoch'), epochs=r.costs.get('epochs'),
               n_task=getattr(r.tokenizer, 'n_task', 0), train_s=rec['train_s'],
               share=rec['share'], accuracy=rec['accuracy'], n_train=rec['n_train'], n_test=rec['n_test'],
               per_epoch=_per_epoch(learn), C=r.metrics.get('C'), total_s=time.time() - t0)
    del r, learn; gc.collect()
    return out

def table(path)->'pd.DataFrame':
    "Mean +- std (ddof 1) of valid and test macro-F1 over the finished seeds, per method and lr; best valid lr marked."
    import pandas as pd
    df = pd.DataFrame(map(json.loads, open(path))).assign(lr=lambda d: d.lr.fillna(0))
    g = df.groupby(['method', 'lr'])
    epochs = lambda e: ','.join('-' if pd.isna(v) else str(int(v)) for v in e)
    t = pd.DataFrame({'seeds': g.seed.count(), 'valid': g.valid.mean(), 'valid_sd': g.valid.std(),
                      'test': g.test.mean(), 'test_sd': g.test.std(), 'train_s': g.train_s.mean(),
                      'best_epochs': g.best_epoch.agg(epochs)})
    t['chosen'] = t.valid == t.groupby(level='method').valid.transform('max')
    return t

def _key(method, lr, seed): return (method, None if lr is None else float(lr), seed)

def _done(path)->set:
    if not os.path.exists(path): return set()
    return {_key(r['method'], r['lr'], r['seed']) for r in map(json.loads, open(path))}

if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else 'results/icd_sweep.jsonl'
    groups = sys.argv[2:] or ['time', 'tfidf', 'sweep']
    if groups == ['table']:
        import pandas as pd
        with pd.option_context('display.width', 200, 'display.max_columns', None, 'display.precision', 4):
            print(table(out))
        sys.exit()
    task = load_icd10cm(seed=0)
    for g in groups:
        for method, lr, seed in plan(g):
            if _key(method, lr, seed) in _done(out): continue
            rec = run(task, method, lr, seed)
            with open(out, 'a') as f: f.write(json.dumps(rec, default=str) + '\n')
            print(f"{method} lr {lr} seed {seed}: valid {rec['valid']:.4f} test {rec['test']:.4f} "
                  f"(epoch {rec['best_epoch']}, {rec['total_s']:.0f} s)", flush=True)
