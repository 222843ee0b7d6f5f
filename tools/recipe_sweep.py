"""The measured sweep behind `AdaptConfig`'s training defaults (issue 13), recorded in nbs/08_training.ipynb.

Every run is `adapt()` on the embedded Rotten Tomatoes task: a stratified slice of `n_train` training snippets drawn
with the run's seed (as `adapt(n_train=...)` does), the whole valid (1,273) and test (1,274) splits, seeds 0-2.
The defaults are chosen by mean VALID macro-F1 over the seeds; test is reported, never used to choose. For study only,
a callback also scores the test split after every epoch (so the table can show what best-epoch selection gives).

Groups (run one with its name, or all in order; finished runs in the results file are skipped):

- select: the module-selection rule at 10%, no task tokens, 4 epochs: raw eq. 3 (beta 0.1), length-adjusted I
  (beta 1e-3 and 1), and the references (top layers, random units)
- recipe: around the best sensitivity variant: budget 20%, peak lr 1e-3, task tokens on; E2E with the same recipe
- small:  600-snippet slices: AdaPT with and without a floor of 300 optimizer steps; TF-IDF + logistic regression

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/recipe_sweep.py results/recipe_sweep.jsonl [group]
"""
import json, os, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastai.learner import Callback
from adapt_nb.config import AdaptConfig
from adapt_nb.pipeline import prepare_task
from adapt_nb.prediction import evaluate
from adapt_nb.methods import run_method

BASE = dict(task_tokens=False, epochs=4, budget=0.1)
ADJ = dict(length_adjust=True, normalize='rank', beta=1e-3)
GROUPS = dict(
    select={'s3_raw': dict(BASE, length_adjust=False, normalize='rank', beta=0.1),
            's3_adj_b1e-3': dict(BASE, **ADJ), 's3_adj_b1': dict(BASE, length_adjust=True, normalize='rank', beta=1.),
            's3_top': dict(BASE, selection='top'), 's3_random': dict(BASE, selection='random')},
    recipe={'s4_b20': dict(BASE, **ADJ, budget=0.2), 's4_lr1e-3': dict(BASE, **ADJ, lr=1e-3),
            's5_tok': dict(BASE, **ADJ, task_tokens=True), 's4_e2e_3e-5': dict(BASE, method='e2e', lr=3e-5)},
    small={'c600_ms300': dict(BASE, **ADJ, n_train=600, min_steps=300),
           'c600_ms0': dict(BASE, **ADJ, n_train=600, min_steps=0)})

class EpochScores(Callback):
    "Valid macro-F1 (fastai's validation) and test macro-F1 after every epoch: for study, never for choosing."
    order = 60
    def __init__(self, task): self.task, self.rows = task, []
    def after_epoch(self):
        rec = self.learn.recorder
        v = dict(zip(rec.metric_names[1:-1], rec.values[-1]))
        test = evaluate(self.learn, self.task, 'test')['macro_f1']
        self.rows.append(dict(epoch=self.epoch, valid=float(v['macro_f1']), train_loss=float(v['train_loss']),
                              valid_loss=float(v['valid_loss']), test=test))

def run(tag:str, seed:int, n_train:int=3000, **kw)->dict:
    "One `adapt()` run: test at the best valid epoch, valid there, and the per-epoch scores."
    t0 = time.time()
    method = kw.pop('method', 'adapt')
    cfg = AdaptConfig(n_train=n_train, seed=seed, progress=False, count_flops=0, device='cpu', **kw)
    task = prepare_task(None, cfg)
    es = EpochScores(task)
    r = run_method(method, task, cfg.replace(n_train=None), cbs=[es])
    return dict(tag=tag, seed=seed, n_train=n_train, **kw, **({} if method == 'adapt' else {'method': method}),
                test=r.metrics['macro_f1'],
                valid=(r.valid_metrics or {}).get('macro_f1'), best_epoch=r.costs.get('best_epoch'),
                epochs_run=r.costs.get('epochs'), last_test=es.rows[-1]['test'], per_epoch=es.rows,
                n_task=getattr(r.tokenizer, 'n_task', 0), share=r.costs.get('trainable_share'),
                modules=None if r.selection is None else r.selection.modules, total_s=time.time() - t0)

def tfidf_tag(n_train:int, task_tokens:bool)->str: return f"tfidf_{n_train}_{'tok' if task_tokens else 'plain'}"

def tfidf(n_train:int, seed:int, task_tokens:bool)->dict:
    "TF-IDF + logistic regression on the same slice (C and class weights chosen on the valid split)."
    r = run_method('tfidf', n_train=n_train, seed=seed, task_tokens=task_tokens, progress=False)
    return dict(tag=tfidf_tag(n_train, task_tokens), seed=seed, n_train=n_train, test=r.metrics['macro_f1'], valid=None)

def _done(path)->set:
    if not os.path.exists(path): return set()
    return {(r['tag'], r['seed']) for r in map(json.loads, open(path))}

if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else 'results/recipe_sweep.jsonl'
    groups = sys.argv[2:] or list(GROUPS)
    for g in groups:
        for seed in (0, 1, 2):
            for tag, kw in GROUPS[g].items():
                if (tag, seed) in _done(out): continue
                rec = run(tag, seed, **kw)
                with open(out, 'a') as f: f.write(json.dumps(rec, default=str) + '\n')
                print(f"{tag} seed {seed}: test {rec['test']:.4f} valid {rec['valid']:.4f}", flush=True)
            if g == 'small':
                for n in (600, 3000):
                    for tt in (False, True):
                        if (tfidf_tag(n, tt), seed) in _done(out): continue
                        with open(out, 'a') as f: f.write(json.dumps(tfidf(n, seed, tt)) + '\n')
