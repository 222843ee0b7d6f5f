"""Task-token designs on a specialised vocabulary (issue 21): which way of adding task tokens helps AdaPT.

Every run is `run_method(method, task, ...)` on an embedded task (`load_embedded(name, seed=0)`): a stratified slice of
`--n_train` training examples drawn with the run's seed, the whole valid and test splits, max_length 64, package
defaults otherwise, and the method's learning rate chosen on the task's valid split (`--lr`, or per method below).
A design is chosen by mean VALID macro-F1 over the seeds; test is recorded, never used to choose.

Designs (each a set of `AdaptConfig` settings on top of task_tokens=True; `none` is task_tokens=False):
  none, insert (the paper's Alg. 2 with the package's mean rows), rowlr10, rowlr30, context, replace, replace_rowlr10,
  share, cap100, cap300, cap1000, paper (preset='paper' tokens: Alg. 1 score, any gap, random rows)

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/task_token_designs.py OUT.jsonl --task icd10cm \\
        --designs none insert rowlr10 ... --seeds 0 1 2 [--method adapt] [--lr 1e-3] [--n_train 3000]
    .venv/bin/python tools/task_token_designs.py OUT.jsonl --table       # mean +- std per method and design
"""
import argparse, gc, json, os, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TT = dict(task_tokens=True)
DESIGNS = dict(
    none=dict(task_tokens=False), insert=TT, rowlr10=dict(TT, row_lr=10.), rowlr30=dict(TT, row_lr=30.),
    rowlr100=dict(TT, row_lr=100.), context=dict(TT, init='context'), context_rowlr10=dict(TT, init='context', row_lr=10.),
    replace=dict(TT, attach='replace'), replace_rowlr10=dict(TT, attach='replace', row_lr=10.),
    replace_context=dict(TT, attach='replace', init='context'), share=dict(TT, share_position=True),
    cap100=dict(TT, count_rule='cap', max_tokens=100, max_share=None),
    cap300=dict(TT, count_rule='cap', max_tokens=300, max_share=None),
    cap1000=dict(TT, count_rule='cap', max_tokens=1000, max_share=None),
    paper=dict(TT, paper_tokens=True))

def run(task, method:str, design:str, seed:int, n_train:int|None, lr, count_flops:int=0)->dict:
    "One run: valid and test macro-F1 at the chosen epoch, the task tokens, the costs."
    from adapt_nb.methods import run_method
    t0 = time.time()
    r = run_method(method, task, n_train=n_train, seed=seed, lr=lr, max_length=64, progress=False, count_flops=count_flops,
                   device='cpu', **DESIGNS[design])
    c = r.costs
    out = dict(method=method, design=design, seed=seed, n_train=n_train, lr=r.lr, valid=(r.valid_metrics or {}).get(
               'macro_f1'), test=r.metrics['macro_f1'], accuracy=r.metrics['accuracy'], best_epoch=c.get('best_epoch'),
               n_task=c.get('n_task_tokens', 0), per_input=c.get('task_tokens_per_input'),
               token_share=c.get('task_token_share'), share=c.get('trainable_share'), train_s=c.get('train_s'),
               flops_per_epoch=c.get('flops_per_epoch'), peak_mem=c.get('peak_mem_bytes'), epochs_run=c.get('epochs_run'),
               total_s=time.time() - t0, settings=DESIGNS[design])
    del r; gc.collect()
    return out

def table(path):
    import pandas as pd
    df = pd.DataFrame(map(json.loads, open(path))).assign(n_train=lambda d: d.n_train.fillna(-1).astype(int))
    g = df.groupby(['method', 'n_train', 'design'])   # n_train -1: the whole training split
    return pd.DataFrame({'seeds': g.seed.count(), 'valid': g.valid.mean(), 'valid_sd': g.valid.std(),
                         'test': g.test.mean(), 'test_sd': g.test.std(), 'n_task': g.n_task.mean(),
                         'per_input': g.per_input.mean(), 'train_s': g.train_s.mean()}).round(4)

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('out'); ap.add_argument('--task', default='icd10cm'); ap.add_argument('--method', default='adapt')
    ap.add_argument('--designs', nargs='*', default=['none', 'insert']); ap.add_argument('--seeds', nargs='*', type=int,
                                                                                          default=[0, 1, 2])
    ap.add_argument('--lr', type=float)
    ap.add_argument('--n_train', type=lambda s: None if s == 'all' else int(s), default=3000)  # 'all': the whole split
    ap.add_argument('--count_flops', type=int, default=0)  # training batches whose FLOPs are counted (0: none)
    ap.add_argument('--table', action='store_true')
    a = ap.parse_args()
    if a.table:
        import pandas as pd; pd.set_option('display.width', 200); print(table(a.out)); sys.exit()
    from adapt_nb.data import load_embedded
    task = load_embedded(a.task, seed=0)
    done = {(r['method'], r['design'], r['seed'], r['n_train']) for r in map(json.loads, open(a.out))} \
        if os.path.exists(a.out) else set()
    for seed in a.seeds:
        for d in a.designs:
            if (a.method, d, seed, a.n_train) in done: continue
            rec = run(task, a.method, d, seed, a.n_train, a.lr, a.count_flops)
            with open(a.out, 'a') as f: f.write(json.dumps(rec, default=str) + '\n')
            print(f"{a.method} {d} seed {seed}: valid {rec['valid']:.4f} test {rec['test']:.4f} "
                  f"({rec['n_task']} task tokens, {rec['total_s']:.0f} s)", flush=True)
