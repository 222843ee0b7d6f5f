"""Integration tests of adapt_nb.training that do not fit in a notebook: sparse finetuning in 2 processes (gloo, torchrun)."""
import json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest

SCRIPT = textwrap.dedent('''
    import json, os, sys, warnings
    warnings.filterwarnings('ignore')
    import torch
    torch.set_num_threads(1)
    from fastai.callback.core import Callback
    from adapt_nb.data import load_rotten_tomatoes
    from adapt_nb.models import load_classifier
    from adapt_nb.tokenization import TaskTokenizer, resize_token_embeddings
    from adapt_nb.batching import task_dataloaders
    from adapt_nb.learner import classifier_learner, SparseFinetune, cpu_distrib_ctx

    class Count(Callback):
        def before_fit(self): self.n, self.ex = 0, 0
        def after_batch(self):
            if self.training: self.n += 1; self.ex += len(self.yb[0])

    task = load_rotten_tomatoes(seed=0).subsample(n_train=64, n_valid=32, n_test=32, seed=0)
    torch.manual_seed(0)
    model, tok = load_classifier('minilm', 2, task.label_names)
    tt = TaskTokenizer.from_texts(tok, task.train['text'].tolist(), min_support=3, max_tokens=20)
    resize_token_embeddings(model, tt, seed=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    dls = task_dataloaders(task, tt, bs=8, max_length=32)
    train = ['bert.encoder.layer.5.output.dense', 'classifier']
    cnt = Count()
    learn = classifier_learner(model, dls, lr=1e-3, cbs=[SparseFinetune(modules=train, new_token_ids=tt.task_ids), cnt])
    learn.remove_cbs([cb for cb in learn.cbs if type(cb).__name__ == 'ProgressCallback'])
    with cpu_distrib_ctx(learn), learn.no_logging(): learn.fit(1)
    after = dict(model.named_parameters())
    W, W0 = after['bert.embeddings.word_embeddings.weight'], before['bert.embeddings.word_embeddings.weight']
    res = dict(rank=torch.distributed.get_rank() if torch.distributed.is_initialized() else int(os.environ['RANK']),
               world=int(os.environ['WORLD_SIZE']), n_batches=cnt.n, n_examples=cnt.ex, n_base=tt.n_base,
               changed=sorted(n for n in after if not torch.equal(after[n], before[n])),
               old_rows_same=bool(torch.equal(W[:tt.n_base], W0[:tt.n_base])),
               new_rows_changed=int((W[tt.n_base:] != W0[tt.n_base:]).any(1).sum()), n_task=tt.n_task,
               digest={n: float(p.double().sum()) for n, p in after.items()})
    json.dump(res, open(os.path.join(sys.argv[1], f"rank{res['rank']}.json"), 'w'))
''')

def test_sparse_finetune_two_cpu_processes(tmp_path):
    "2 processes (gloo): each sees half the batches, both end with the same weights, frozen parameters stay bit-identical."
    script = tmp_path/'run.py'; script.write_text(SCRIPT)
    torchrun = Path(sys.executable).parent/'torchrun'
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'TOKENIZERS_PARALLELISM': 'false'}
    p = subprocess.run([str(torchrun), '--nproc_per_node', '2', '--master_port', '29533', str(script), str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path/f'rank{i}.json').read_text()) for i in (0, 1))
    assert (r0['world'], r1['world']) == (2, 2)
    assert r0['n_batches'] == r1['n_batches'] == 4           # 64 examples, bs 8, split over 2 ranks
    assert r0['n_examples'] + r1['n_examples'] == 64
    assert r0['digest'] == r1['digest']                       # DDP kept the replicas identical
    trained = {f'bert.encoder.layer.5.output.dense.{k}' for k in ('weight', 'bias')} | \
              {'classifier.weight', 'classifier.bias'}
    assert set(r0['changed']) == trained | {'bert.embeddings.word_embeddings.weight'}
    assert r0['old_rows_same'] and r1['old_rows_same']
    assert r0['new_rows_changed'] == r0['n_task'] > 0
