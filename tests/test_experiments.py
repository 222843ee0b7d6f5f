"Experiment grid: resume after SIGKILL (a real process, killed), the results file's round trip, the grid command."
import json, math, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from adapt_nb.experiments import (append_result, read_results, run_grid, grid_cells, bow_runner, load_config,
                                  load_grid_task)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TIMINGS = ['train_s', 'infer_s', 'cell_s', 'finished_at']
ENV = dict(os.environ, OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', TOKENIZERS_PARALLELISM='false')

# A runner module for the child process: real work (bow_runner) for the first K cells, then it hangs until killed.
SLOW_RUNNER = '''
import os, time
from adapt_nb.experiments import bow_runner
CALLS = 0
def runner(method, task, **kw):
    global CALLS
    CALLS += 1
    if CALLS > int(os.environ["HANG_AFTER"]): time.sleep(600)
    return bow_runner(method, task, **kw)
'''


def grid(tmp_path, runner=None):
    cfg = {'name': 'kill_test', 'methods': ['adapt', 'e2e'], 'seeds': [0, 1],
           'budgets': {'adapt': [0.1, 0.5], 'e2e': [1.0]}, 'task_tokens': [False, True],
           'datasets': {'rt': {'loader': 'load_rotten_tomatoes', 'subsample': {'n_train': 200, 'n_test': 150, 'seed': 0}}},
           'models': ['none'], 'results': str(tmp_path/'grid.csv')}
    if runner: cfg['runner'] = runner
    return cfg


def wait_rows(path, k, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and len(read_results(path)) >= k: return
        assert proc.poll() is None, f'grid process ended early: {proc.stderr.read()}'
        time.sleep(0.2)
    raise AssertionError(f'{k} rows not written within {timeout} s')


def test_resume_after_sigkill(tmp_path):
    "Kill a grid process with SIGKILL after k cells; the rerun computes only the missing cells and ends identical."
    k = 3
    (tmp_path/'slow_runner.py').write_text(SLOW_RUNNER)
    cfg = grid(tmp_path, runner='slow_runner:runner')
    cfg_file = tmp_path/'grid.json'; cfg_file.write_text(json.dumps(cfg))
    env = dict(ENV, HANG_AFTER=str(k), PYTHONPATH=str(tmp_path))
    proc = subprocess.Popen([str(BIN/'adapt_nb_grid'), str(cfg_file), '--on_error', 'raise'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_rows(Path(cfg['results']), k, proc)
        time.sleep(0.5)          # the child is now hanging inside cell k+1
    finally:
        os.kill(proc.pid, signal.SIGKILL); proc.wait()
    assert proc.returncode == -signal.SIGKILL
    path = Path(cfg['results'])
    before = path.read_text().splitlines()
    assert len(before) == k + 1 and len(read_results(path)) == k

    calls = []
    def counting(method, task, **kw):
        calls.append((method, kw['task_tokens'], kw['budget'], kw['seed'])); return bow_runner(method, task, **kw)
    cells = grid_cells(cfg)
    resumed = run_grid(cfg, runner=counting, progress=False)
    assert calls == [(c['method'], c['task_tokens'], c['budget'], c['seed']) for c in cells[k:]]   # the k cells not recomputed
    assert path.read_text().splitlines()[:k + 1] == before                                         # and left as written

    ref_cfg = {**cfg, 'results': str(tmp_path/'reference.csv')}
    reference = run_grid(ref_cfg, runner=bow_runner, progress=False)
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMINGS), reference.drop(columns=TIMINGS))
    # the k rows written by the killed process equal the reference rows (same numbers, bit for bit)
    pd.testing.assert_frame_equal(read_results(path).head(k).drop(columns=TIMINGS), reference.head(k).drop(columns=TIMINGS))


def test_grid_command_runs_and_reports(tmp_path):
    "The console command runs a (cheap) grid from a config file and writes the report; a second run does no work."
    cfg = grid(tmp_path, runner='adapt_nb.experiments:bow_runner')
    cfg['seeds'] = [0, 1]; cfg_file = tmp_path/'grid.json'; cfg_file.write_text(json.dumps(cfg))
    r = subprocess.run([str(BIN/'adapt_nb_grid'), str(cfg_file)], env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    n = len(grid_cells(cfg))
    assert f'{n}/{n} cells of kill_test' in r.stdout
    rep = tmp_path/'grid_report'
    assert (rep/'report.md').exists() and (rep/'fig3_task_tokens.png').stat().st_size > 5000
    mtime = Path(cfg['results']).stat().st_mtime_ns
    r2 = subprocess.run([str(BIN/'adapt_nb_grid'), str(cfg_file)], env=ENV, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0 and Path(cfg['results']).stat().st_mtime_ns == mtime


def test_shipped_configs_are_valid():
    "Both shipped configs load, and the CPU one satisfies the acceptance grid (>=3 seeds, 5 methods, tokens on/off)."
    cpu, gpu = load_config(ROOT/'configs'/'cpu.json'), load_config(ROOT/'configs'/'gpu.json')
    assert len(cpu['seeds']) >= 3 and {'adapt', 'e2e', 'adalora', 'prefix', 'layers'} <= set(cpu['methods'])
    assert all(set(v) == {False, True} for v in ([cpu['task_tokens']] if isinstance(cpu['task_tokens'], list) else cpu['task_tokens'].values()))
    assert len(gpu['seeds']) >= 10 and len(gpu['datasets']) == 5 and len(gpu['models']) == 6
    assert {0.05, 0.1, 0.15, 0.2, 0.5, 1.0} <= set(gpu['budgets']['adapt'])
    assert len(grid_cells(gpu)) > len(grid_cells(cpu))
    assert 'tfidf' in cpu['methods'] and cpu['run_kwargs']['n_train'] >= 3000    # issue 13: TF-IDF in every table
    # the first (400-snippet) grid's budget sweep shares its data and settings, so its 20% cell is that grid's own cell
    old = load_config(ROOT/'configs'/'cpu400.json')
    sweep = load_config(ROOT/'configs'/'cpu_budget.json')
    assert sweep['results'] == old['results'] and sweep['datasets'] == old['datasets'] and sweep['run_kwargs'] == old['run_kwargs']
    shared = {c['key'] for c in grid_cells({**sweep, 'budgets': [0.2]})}
    assert shared <= {c['key'] for c in grid_cells(old)}
    # the initialisation ablation writes to its own file, so the main tables keep the paper's random initialisation
    abl = load_config(ROOT/'configs'/'cpu_token_init.json')
    assert abl['results'] != old['results'] and abl['datasets'] == old['datasets']
    assert cpu['results'] not in (old['results'], abl['results'])


# --- the results file round-trips any row exactly --------------------------------------------------------------------
KINDS = {'float': st.floats(allow_nan=False, width=64), 'int': st.integers(-2**62, 2**62), 'bool': st.booleans(),
         'text': st.text(st.characters(blacklist_categories=('Cs',)), max_size=12).map(lambda s: 'x' + s)}


@st.composite
def tables(draw):
    cols = draw(st.dictionaries(st.from_regex(r'[a-z]{1,6}', fullmatch=True).filter(lambda c: c != 'key'),
                                st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
    rows = []
    for i in range(draw(st.integers(1, 6))):
        present = draw(st.lists(st.sampled_from(sorted(cols)), unique=True))   # a row may lack columns (new ones appear later)
        rows.append({'key': f'k{i}', **{c: draw(KINDS[cols[c]]) for c in present}})
    return cols, rows


@settings(max_examples=60, deadline=None)
@given(t=tables())
def test_results_round_trip(tmp_path_factory, t):
    "Whatever rows are appended (new columns appearing midway included), reading gives back each value exactly."
    cols, rows = t
    path = tmp_path_factory.mktemp('rt')/'r.csv'
    for r in rows: append_result(path, r)
    df = read_results(path)
    assert df['key'].tolist() == [r['key'] for r in rows]
    for i, r in enumerate(rows):
        for c, kind in cols.items():
            got = df[c][i] if c in df.columns else np.nan
            if c not in r: assert pd.isna(got); continue
            want = r[c]
            if kind == 'text': assert got == want.replace('\r', ' ').replace('\n', ' ')
            elif kind == 'bool': assert bool(got) == want and not isinstance(got, str)
            elif kind == 'int' and df[c].dtype.kind == 'f': assert got == float(want)   # ints with gaps read as floats
            else: assert got == want and (kind != 'float' or math.copysign(1, got) == math.copysign(1, want))


def test_torn_line_is_ignored_and_repaired(tmp_path):
    "A writer killed mid-line leaves a partial last line: readers skip it, the next append repairs the file."
    path = tmp_path/'r.csv'
    append_result(path, {'key': 'a', 'f1': 0.5})
    with open(path, 'a') as f: f.write('b,0.')
    assert read_results(path)['key'].tolist() == ['a']
    append_result(path, {'key': 'c', 'f1': 0.25})
    assert path.read_text() == 'key,f1\na,0.5\nc,0.25\n'


def test_grid_loads_the_icd_task():
    "A grid config names the second embedded task like any `load_*` of adapt_nb.data."
    t = load_grid_task({'loader': 'load_icd10cm', 'args': {'seed': 1}, 'subsample': {'n_train': 300, 'seed': 0}}, 'icd')
    assert t.name == 'icd10cm' and len(t.train) == 300 and t.num_labels == 18
