"""Runs that cannot corrupt each other (issue 14): a CLI run killed with SIGKILL at random moments, saves and checkpoint
writes included, over a directory holding a finished run; resume refusing another task; labels with gaps; file modes.

Runs use a tiny random BERT (2 layers, hidden 32) with the embedded MiniLM tokenizer, so that a whole CLI run takes a few
seconds: what is tested is the bookkeeping around training, not training itself."""
import json, os, random, signal, stat, subprocess, sys, time
from pathlib import Path
import pandas as pd, pytest
from adapt_nb.data import load_task
from adapt_nb.pipeline import adapt
from adapt_nb.runs import load_adapted

ENV = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', TOKENIZERS_PARALLELISM='false')


def args(root, out, seed, *extra):
    return ['--data', str(root/'data.csv'), '--model', str(root/'tiny'), '--out_dir', str(out), '--seed', str(seed),
            '--epochs', '3', '--min_steps', '0', '--bs', '16', '--max_length', '32', '--task_tokens',
            '--min_support', '3', '--max_tokens', '20', '--n_sens', '16', '--count_flops', '1', '--no-progress', *extra]


def complete(out):
    "The run in `out`: it loads, every file belongs to one run (same run id), and it predicts; returns its seed."
    clf = load_adapted(out)
    meta = json.loads((out/'adapt_config.json').read_text())
    rid = meta['run_id']
    assert json.loads((out/'metrics.json').read_text())['run_id'] == rid
    assert json.loads((out/'model'/'config.json').read_text())['adapt_nb_run'] == rid
    assert (out/'DONE').read_text() == rid
    assert len(clf.predict(['a fine film', 'dull'])) == 2
    return meta['config']['seed']


def test_sigkill_never_mixes_runs(tiny_setup):
    "Kill a CLI run at 10 random moments over a finished run: the directory always holds one complete run; resume ends it."
    root, out = tiny_setup, tiny_setup/'out'
    r = subprocess.run([sys.executable, str(root/'runner.py'), *args(root, out, 0)], env=ENV, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert complete(out) == 0
    rng, seen, kinds = random.Random(14), set(), []
    for i in range(1, 11):
        old = complete(out)
        p = subprocess.Popen([sys.executable, str(root/'runner.py'), *args(root, out, i, '--overwrite')], env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if i % 2:                                       # aim at a save: the k-th file replacement
            k, n = rng.randint(1, 12), 0
            for line in p.stdout:
                n += line.startswith('REPLACE')
                if n >= k: seen.add(line.split()[1]); break
            kinds.append(f'save #{k}')
        else:
            t = rng.uniform(2, 12); time.sleep(t); kinds.append(f'{t:.1f} s')
        p.send_signal(signal.SIGKILL); p.wait()
        now = complete(out)                             # the old run or the new one, whole
        assert now in (old, i), (i, kinds[-1], now)
        r = subprocess.run([sys.executable, str(root/'runner.py'), *args(root, out, i, '--overwrite', '--resume')],
                           env=ENV, capture_output=True, text=True)
        if r.returncode == 0: assert complete(out) == i, kinds[-1]
        else:                                            # refused: one line saying why
            err = r.stderr.strip().splitlines()[-1]
            assert err.startswith('adapt_nb_run: error: resume:'), r.stderr[-2000:]
            assert complete(out) == now
    assert any(s.startswith('epoch_') or s == 'best' for s in seen), seen   # some kills landed on checkpoint writes


def test_resume_refuses_another_task(tiny_setup, tmp_path):
    "Resume with another data file, other labels or other settings is refused, naming the difference."
    root, out = tiny_setup, tmp_path/'r'
    kw = dict(model=str(root/'tiny'), epochs=2, min_steps=0, bs=16, max_length=32, task_tokens=True, min_support=3,
              max_tokens=20, n_sens=16, count_flops=1, progress=False)
    task = load_task(root/'data.csv')

    from fastai.callback.core import Callback
    class Stop(Callback):
        order = 80
        def after_epoch(self):
            if self.epoch == 0: raise RuntimeError('simulated crash')
    with pytest.raises(RuntimeError, match='simulated crash'): adapt(task, out_dir=out, cbs=[Stop()], **kw)
    df = pd.read_csv(root/'data.csv')
    df.iloc[:150].to_csv(tmp_path/'other.csv', index=False)
    with pytest.raises(ValueError, match='the data of the train split'):
        adapt(load_task(tmp_path/'other.csv'), out_dir=out, resume=True, **kw)
    df.assign(label=df['label'].map({'fresh': 'good', 'rotten': 'bad'})).to_csv(tmp_path/'relabelled.csv', index=False)
    with pytest.raises(ValueError, match=r"label_names \['fresh', 'rotten'\] vs \['bad', 'good'\]"):
        adapt(load_task(tmp_path/'relabelled.csv'), out_dir=out, resume=True, **kw)
    with pytest.raises(ValueError, match='budget 0.1 vs 0.2'):
        adapt(task, out_dir=out, resume=True, **{**kw, 'budget': 0.2})
    r = adapt(task, out_dir=out, resume=True, **kw)   # the same task and settings: it finishes
    assert r.metrics['n'] == len(task.test) and complete(out) == 0


def test_labels_with_gaps_and_file_modes(tiny_setup, tmp_path):
    "Labels {0, 2}: a 2-way head and macro-F1 over the 2 real classes; saved files follow the umask."
    root = tiny_setup
    df = pd.read_csv(root/'data.csv')
    df['label'] = df['label'].map({'rotten': 0, 'fresh': 2})
    df.to_csv(tmp_path/'gaps.csv', index=False)
    task = load_task(tmp_path/'gaps.csv')
    assert task.label_names == ['0', '2']
    old = os.umask(0o022)
    try:
        r = adapt(task, model=str(root/'tiny'), out_dir=tmp_path/'g', epochs=1, min_steps=0, bs=16, max_length=32,
                  task_tokens=True, min_support=3, max_tokens=20, n_sens=16, count_flops=0, progress=False)
    finally: os.umask(old)
    clf = load_adapted(tmp_path/'g')
    assert clf.model.config.num_labels == 2 and clf.label_names == ['0', '2']
    y, p = task.test['label'].to_numpy(), clf.logits(task.test['text'].tolist()).argmax(1)
    f1 = [2 * ((p == k) & (y == k)).sum() / max((p == k).sum() + (y == k).sum(), 1) for k in (0, 1)]
    assert abs(r.metrics['macro_f1'] - sum(f1) / 2) < 1e-9            # averaged over the two real classes
    modes = {stat.S_IMODE(q.stat().st_mode) for q in (tmp_path/'g').rglob('*') if q.is_file()}
    dirs = {stat.S_IMODE(q.stat().st_mode) for q in [tmp_path/'g', *(tmp_path/'g').rglob('*')] if q.is_dir()}
    assert (tmp_path/'g'/'tokenizer'/'task_tokens.json').exists()          # written by the tokenizer itself
    assert modes == {0o644} and dirs == {0o755}, (modes, dirs)
