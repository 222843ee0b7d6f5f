"""`adapt()` in 2 CPU processes (torchrun, gloo) against the same run in one process (issue 23, item 3): the same
selection and task tokens on both ranks, the run directory written once by rank 0, and the same result.

Tolerance. The tiny model has dropout off, so a rank draws no random numbers that a single process would not: DDP over
two equal halves of every batch (`BatchShardDL`) averages the two half-batch mean gradients, which is the full-batch mean
gradient up to the order of float32 additions. Over 16 Adam steps that order moves the test logits by ~1e-6; we allow
1e-3 (an Adam step divides by sqrt(v) + eps, so a gradient component near zero can amplify rounding, but not to 1e-3
at lr 1e-3 in 16 steps). Macro-F1 is compared exactly except where a prediction sits within that tolerance of a tie."""
import json, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np, pytest

SCRIPT = textwrap.dedent('''
    import json, os, sys, warnings
    warnings.filterwarnings('ignore')
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    from adapt_nb.data import load_rotten_tomatoes
    from adapt_nb.pipeline import adapt
    out, model, save = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == 'save'
    task = load_rotten_tomatoes(seed=0).subsample(n_train=64, n_valid=32, n_test=32, seed=0)
    r = adapt(task, model=model, device='cpu', bs=8, epochs=2, min_steps=0, max_length=32, n_sens=16, budget=0.01,
              task_tokens=True, min_support=3, max_tokens=20, count_flops=0, lr=1e-3, progress=False,
              out_dir=str(out/'run') if save else None)
    tag = f"rank{os.environ['RANK']}" if 'WORLD_SIZE' in os.environ else 'single'
    logits = r.classifier.logits(task.test['text'].tolist())
    json.dump(dict(modules=r.selection.modules, task_tokens=r.tokenizer.names, test=r.metrics, valid=r.valid_metrics,
                   steps=r.costs['steps'], best_epoch=r.costs['best_epoch'], out_dir=str(r.out_dir),
                   type=type(r).__name__, logits=logits.tolist()), open(out/f'{tag}.json', 'w'))
''')


@pytest.fixture(scope='module')
def no_dropout_model(tiny_setup):
    "The tiny BERT of conftest with dropout off (so that DDP and one process draw no different random numbers)."
    from transformers import AutoTokenizer, BertForSequenceClassification
    d = tiny_setup/'tiny_nodrop'
    if not d.exists():
        m = BertForSequenceClassification.from_pretrained(str(tiny_setup/'tiny'), hidden_dropout_prob=0.,
                                                          attention_probs_dropout_prob=0., classifier_dropout=0.)
        m.save_pretrained(d); AutoTokenizer.from_pretrained(str(tiny_setup/'tiny')).save_pretrained(d)
    return d


def test_adapt_two_cpu_processes(tmp_path, no_dropout_model):
    "torchrun --nproc_per_node 2 (gloo): one selection, one run directory, the single-process result within 1e-3."
    script = tmp_path/'run.py'; script.write_text(SCRIPT)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'TOKENIZERS_PARALLELISM': 'false'}
    env.pop('WORLD_SIZE', None)
    single = subprocess.run([sys.executable, str(script), str(tmp_path), str(no_dropout_model), 'nosave'],
                            capture_output=True, text=True, env=env, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    torchrun = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', '29541']
    p = subprocess.run(torchrun + [str(script), str(tmp_path), str(no_dropout_model), 'save'],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    s, r0, r1 = (json.loads((tmp_path/f'{k}.json').read_text()) for k in ('single', 'rank0', 'rank1'))
    # every rank trained the same modules with the same task tokens, those of one process
    assert r0['modules'] == r1['modules'] == s['modules'] and len(s['modules']) > 0
    assert r0['task_tokens'] == r1['task_tokens'] == s['task_tokens'] and len(s['task_tokens']) > 0
    # the same result everywhere: type, out_dir, metrics (gathered or sent from rank 0), steps (global batch = bs)
    assert r0['type'] == r1['type'] == 'AdaptResult'
    assert r0['out_dir'] == r1['out_dir'] == str(tmp_path/'run')
    assert r0['test'] == r1['test'] and r0['valid'] == r1['valid']
    assert r0['steps'] == s['steps'] == 2 * 8 and r0['best_epoch'] == s['best_epoch']
    # the run directory: written once (by rank 0), complete, moved into place; no staging left behind
    run = tmp_path/'run'
    assert (run/'DONE').is_file() and (run/'metrics.json').is_file() and (run/'model'/'config.json').is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('run') and p.is_dir()) == ['run']
    saved = json.loads((run/'metrics.json').read_text())
    assert saved['test']['macro_f1'] == r0['test']['macro_f1']
    # the single-process result, within the stated tolerance
    a, b, c = (np.array(x['logits']) for x in (s, r0, r1))
    assert np.abs(b - c).max() < 1e-6                       # both ranks hold the same weights
    assert np.abs(a - b).max() < 1e-3, np.abs(a - b).max()
    margin = np.abs(a[:, 0] - a[:, 1])
    if margin.min() > 1e-3:                                 # no prediction within the tolerance of a tie
        assert r0['test']['macro_f1'] == s['test']['macro_f1'] and r0['test']['accuracy'] == s['test']['accuracy']
    assert abs(r0['valid']['macro_f1'] - s['valid']['macro_f1']) <= 1 / 16
