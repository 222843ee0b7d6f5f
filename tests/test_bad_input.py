"""The bad-input matrix of runs, saved models and the commands (issue 14; the data loaders' matrix is in test_data.py).

Each case gives one bad input and asserts a clear error naming the input and the fix, and that nothing half-written is
left on disk (no staging folder, no temporary file) next to what was there before."""
import json, shutil
from pathlib import Path
import pytest
from adapt_nb.cli import predict_main, run_main
from adapt_nb.pipeline import adapt
from adapt_nb.runs import load_adapted
from adapt_nb.methods import run_method
from adapt_nb.runs import RunDir

FAST = dict(epochs=1, min_steps=0, bs=16, max_length=32, task_tokens=False, n_sens=16, count_flops=0, progress=False)


@pytest.fixture(scope='module')
def finished(tiny_setup, tmp_path_factory):
    "A finished run of the tiny model (no task tokens)."
    from adapt_nb.data import load_task
    out = tmp_path_factory.mktemp('bad')/'done'
    adapt(load_task(tiny_setup/'data.csv'), model=str(tiny_setup/'tiny'), out_dir=out, **FAST)
    return out


def leftovers(folder:Path)->list:
    "Staging folders and temporary files under `folder`."
    return [p.name for p in folder.rglob('*') if p.name.endswith(('.partial', '.tmp', '.replaced'))]


def damaged(finished, tmp_path, what):
    "A copy of the finished run with one thing wrong."
    d = tmp_path/'copy'; shutil.copytree(finished, d)
    if what == 'config': (d/'adapt_config.json').write_text('{"config": {"seed": ')
    elif what == 'tokenizer': shutil.rmtree(d/'tokenizer')
    elif what == 'labels':
        meta = json.loads((d/'adapt_config.json').read_text()); meta['label_names'] = ['a', 'b', 'c']
        (d/'adapt_config.json').write_text(json.dumps(meta))
    elif what == 'binary': (d/'adapt_config.json').write_bytes(b'\xff\xfe\x00garbage')
    return d


@pytest.mark.parametrize('what,message', [
    ('config', 'adapt_config.json is not a readable run description'),
    ('binary', 'adapt_config.json is not a readable run description (UnicodeDecodeError'),
    ('tokenizer', 'tokenizer is missing: the run is incomplete'),
    ('labels', "3 label names ['a', 'b', 'c'] but the model's head has 2 outputs")])
def test_damaged_saved_run(finished, tmp_path, what, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message.replace('(', r'\(').replace('[', r'\[')):
        load_adapted(damaged(finished, tmp_path, what))


def cases(root, finished, tmp):
    "(what, call, expected message): each call gets one bad input."
    data = ['--data', str(root/'data.csv'), '--model', str(root/'tiny'), '--no-task_tokens', '--epochs', '1',
            '--min_steps', '0', '--count_flops', '0', '--no-progress']
    (tmp/'afile').write_text('x')
    return [
        ('predict --bs 0', lambda: predict_main([str(finished), 'fine', '--bs', '0']), 'bs=0: give an int >= 1'),
        ('predict --bs -1', lambda: predict_main([str(finished), 'fine', '--bs', '-1']), 'bs=-1: give an int >= 1'),
        ('predict no texts', lambda: predict_main([str(finished)]), 'no texts given: pass texts'),
        ('predict missing --file', lambda: predict_main([str(finished), '--file', str(tmp/'no.txt')]), 'no such file'),
        ('predict not a run', lambda: predict_main([str(tmp), 'x']), 'holds no finished adapt run'),
        ('predict a float text', lambda: load_adapted(finished).predict([1.5]), 'texts[0] is float: give strings'),
        ('predict one string', lambda: load_adapted(finished).predict('a film'), 'wrap it in a list'),
        ('predict bs=0 in python', lambda: load_adapted(finished).predict(['a'], bs=0), 'bs=0: give an int >= 1'),
        ('run into a finished run', lambda: run_main([*data, '--out_dir', str(finished)]), 'pass overwrite=True'),
        ('run with out_dir a file', lambda: run_main([*data, '--out_dir', str(tmp/'afile')]), 'is a file: give a directory'),
        ('resume an empty place', lambda: run_main([*data, '--out_dir', str(tmp/'none'), '--resume']),
         'holds no interrupted run'),
        ('resume without out_dir', lambda: adapt(resume=True), 'resume=True needs out_dir'),
        ('resume another run', lambda: run_main([*data, '--out_dir', str(finished), '--resume', '--seed', '3']),
         'differs from the finished run'),
        ('unknown method', lambda: run_method('bitfit'), "method='bitfit': choose one of"),
        ('unknown setting', lambda: adapt(epoch=3), "'epoch' (did you mean 'epochs'?)"),
        ('bad device', lambda: adapt(device='gpu'), "device='gpu': use 'auto'"),
        ('bad precision', lambda: adapt(precision='fp8'), "precision='fp8': use one of"),
        ('fp16 on a CPU', lambda: adapt(model=str(root/'tiny'), device='cpu', precision='fp16', **FAST),
         "precision='fp16' needs a CUDA device"),
    ]


def test_bad_inputs_fail_clearly(tiny_setup, finished, tmp_path):
    "Every case fails with its message; the finished run is untouched and nothing temporary is left anywhere."
    before = sorted((p.relative_to(finished), p.stat().st_mtime_ns) for p in finished.rglob('*'))
    failures = []
    for what, call, message in cases(tiny_setup, finished, tmp_path):
        try: call(); failures.append(f'{what}: no error')
        except Exception as e:
            if message not in str(e): failures.append(f'{what}: {type(e).__name__}: {e}')
    assert not failures, failures
    assert len(cases(tiny_setup, finished, tmp_path)) >= 18
    assert sorted((p.relative_to(finished), p.stat().st_mtime_ns) for p in finished.rglob('*')) == before
    assert not leftovers(tmp_path) and not leftovers(finished.parent)


def test_second_writer_is_refused(tiny_setup, tmp_path):
    "While a run holds a directory, another run on it is refused (it would otherwise interleave their files)."
    with RunDir(tmp_path/'busy'):
        with pytest.raises(RuntimeError, match='another run is writing'):
            with RunDir(tmp_path/'busy'): pass
