"""The shape of the package (issues 11 and 20): one definition of every setting, validated by one function whatever the
door (`adapt()`, the command line, `run_method`, a grid config) and giving every step its default; one registry of
methods; one atomic writer; modules that import only downwards; small functions; no repeated blocks; pyflakes clean;
lines of at most 120 characters."""
import ast, re, subprocess, sys
from dataclasses import fields
from pathlib import Path
import pytest
from adapt_nb.config import AdaptConfig, OUTPUT_FIELDS
from adapt_nb.cli import run_main, run_parser, _flag_type
from adapt_nb.methods import run_method
from adapt_nb.experiments import load_config
from adapt_nb.pipeline import adapt

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'adapt_nb'
MODULES = sorted(p for p in PKG.glob('*.py') if p.name not in ('__init__.py', '_modidx.py'))

# --- one definition of the settings, one check each ------------------------------------------------------------------

def test_cli_has_a_flag_for_every_setting():
    "adapt_nb_run --help lists every AdaptConfig field (the flags are generated from the fields)."
    out = subprocess.run([str(Path(sys.executable).parent/'adapt_nb_run'), '--help'], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    flags = set(re.findall(r'--([a-z_][a-z_-]*)', out.stdout))
    settings = {f.name for f in fields(AdaptConfig)}
    assert settings <= flags, settings - flags
    data_flags = {'data', 'text_col', 'label_col', 'pair_col', 'test', 'split_seed', 'dedup', 'encoding', 'traceback', 'help',
                  'method'}
    allowed = data_flags | {f'no-{s}' for s in settings | data_flags}
    assert flags - settings <= allowed, flags - settings - allowed


# (setting, text as typed on the command line): each value is wrong for its setting
BAD = [('budget', '1.5'), ('budget', '0'), ('max_gap', '-1'), ('min_len', '0'), ('max_len', '0'), ('min_support', '0'),
       ('min_support', '1.5'), ('max_patterns', '0'), ('on_overflow', 'ignore'), ('max_tokens', '0'), ('alpha', '-1'),
       ('init', 'zeros'), ('n_sens', '0'), ('beta', '-1'), ('normalize', 'minmax'), ('epochs', '0'), ('lr', '0'),
       ('lr', '-0.001'), ('bs', '0'), ('max_length', '2'), ('seed', '-1'), ('count_flops', '-1'), ('n_train', '0'),
       ('n_eval', '-5'), ('score', 'pplx'), ('count_rule', 'all'), ('max_share', '1'), ('max_seconds', '0'),
       ('device', 'gpu'), ('precision', 'fp8')]

def _message(fn):
    with pytest.raises((ValueError, TypeError)) as e: fn()
    return str(e.value)

def _grid(name, value):
    base = dict(methods=['adapt'], seeds=[0], datasets={'rt': {'loader': 'load_rotten_tomatoes'}}, models=['minilm'])
    if name == 'budget': return {**base, 'budgets': [value]}
    if name == 'seed': return {**base, 'seeds': [value]}
    return {**base, 'run_kwargs': {name: value}}

@pytest.mark.parametrize('name,text', BAD)
def test_same_message_through_every_door(name, text):
    "A bad value gets the same message from adapt(), the CLI, run_method and a grid config: it is checked in one place."
    field = next(f for f in fields(AdaptConfig) if f.name == name)
    value = _flag_type(field.type)(text)                # what the command line makes of the text
    via_adapt = _message(lambda: adapt(**{name: value}))
    assert via_adapt, name
    assert _message(lambda: run_main([f'--{name}', text])) == via_adapt
    assert _message(lambda: run_method('adapt', **{name: value})) == via_adapt
    assert _message(lambda: load_config(_grid(name, value))) == via_adapt
    assert _message(lambda: AdaptConfig(**{name: value})) == via_adapt
    assert name in via_adapt                             # the message names the setting


def test_lengths_checked_together():
    "min_len > max_len fails the same way everywhere (a check across two settings)."
    msg = _message(lambda: adapt(min_len=5, max_len=3))
    assert 'min_len=5 > max_len=3' in msg
    assert _message(lambda: run_main(['--min_len', '5', '--max_len', '3'])) == msg
    assert _message(lambda: run_method('e2e', min_len=5, max_len=3)) == msg
    assert _message(lambda: load_config(_grid('min_len', 5) | {'run_kwargs': {'min_len': 5, 'max_len': 3}})) == msg


def test_unknown_setting_suggests_the_field():
    assert "did you mean 'budget'" in _message(lambda: adapt(budjet=0.1))
    assert "did you mean 'epochs'" in _message(lambda: load_config(_grid('epoch', 2)))


# --- the import graph -------------------------------------------------------------------------------------------------
# the house order: each module imports only modules listed before it
ORDER = ['checks', 'config', 'files', 'theory', 'data', 'models', 'bide', 'sequences', 'tokenization', 'batching',
         'sensitivity', 'learner', 'costs', 'prediction', 'hub', 'runs', 'pipeline', 'adapters', 'layers', 'prompting',
         'tfidf', 'methods', 'experiments', 'cli']

def _imports(py):
    tree = ast.parse(py.read_text())
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            if n.level == 1 and n.module: out.add(n.module.split('.')[0])
            elif n.level == 1: out.update(a.name for a in n.names)
            elif n.module and n.module.startswith('adapt_nb.'): out.add(n.module.split('.')[1])
        elif isinstance(n, ast.Import):
            out.update(a.name.split('.')[1] for a in n.names if a.name.startswith('adapt_nb.'))
    return out

def test_modules_import_only_downwards():
    "No module imports one above it (so no cycles); the pipeline does not reach into bide, nor a baseline into sensitivity."
    assert sorted(ORDER) == sorted(p.stem for p in MODULES), 'a module is missing from ORDER'
    for py in MODULES:
        below = set(ORDER[:ORDER.index(py.stem)])
        up = _imports(py) - below - {'_modidx'}
        assert not up, f'{py.stem} imports {sorted(up)}, which are not below it'
    assert 'bide' not in _imports(PKG/'pipeline.py')
    assert not any('sensitivity' in _imports(PKG/f'{m}.py') for m in ('adapters', 'layers', 'prompting', 'tfidf'))


# --- code shape -------------------------------------------------------------------------------------------------------

def test_functions_are_short():
    long = []
    for py in MODULES:
        for n in ast.walk(ast.parse(py.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60:
                long.append(f'{py.name}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)')
    assert not long, long

def test_lines_at_most_120_characters():
    "Every line but what nbdev writes itself: a module's first (the notebook's summary) and `__all__`'s first line."
    long = [f'{py.name}:{i}' for py in MODULES for i, l in enumerate(py.read_text().splitlines(), 1)
            if len(l) > 120 and i > 1 and not l.startswith('__all__ = ')]
    assert not long, long

def test_pyflakes_clean():
    r = subprocess.run([sys.executable, '-m', 'pyflakes', *map(str, MODULES)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

def _blocks(lines, n=6):
    "Windows of n consecutive code lines (stripped; blank and comment-only lines skipped), with their first line number."
    code = [(i, l.strip()) for i, l in enumerate(lines, 1) if l.strip() and not l.strip().startswith('#')]
    for k in range(len(code) - n + 1):
        yield code[k][0], tuple(l for _, l in code[k:k + n])

def test_no_repeated_blocks():
    "No block of six or more code lines appears twice in the package (nbdev's _modidx aside)."
    seen, dups = {}, []
    for py in MODULES:
        for line, block in _blocks(py.read_text().splitlines()):
            if block in seen and seen[block][0] != py.name or block in seen and abs(seen[block][1] - line) >= 6:
                dups.append(f'{seen[block][0]}:{seen[block][1]} ~ {py.name}:{line}')
            seen.setdefault(block, (py.name, line))
    assert not dups, dups


# --- defaults defined once ----------------------------------------------------------------------------------------
# Parameters named after a setting that are another thing, with the reason. Everything else named after a setting that
# determines a run's result takes its default from `AdaptConfig` (written `AdaptConfig.<name>`), never as a literal.
NOT_SETTINGS = {
    ('sequences', 'tokenize_corpus', 'max_length'): "a corpus primitive: None reads whole texts; the run passes its cut",
    ('sequences', 'select_sequences', 'max_gap'): "the gap the given patterns were mined with (None: any), recorded",
    ('sequences', 'select_sequences', 'max_share'): "Alg. 1 line 11 on given patterns: None applies no share cap",
    ('sequences', 'select_sequences', 'max_tokens'): "None: 10% of the vocabulary, as the setting's None",
    ('tokenization', 'TaskTokenizer.__init__', 'max_gap'): "None: the Selection's own gap",
    ('tokenization', '__call__', 'max_length'): "the transformers tokenizer API: None truncates nothing",
    ('tokenization', 'oracle_occurrences', 'max_gap'): "a brute-force oracle: any gap unless told",
    ('learner', 'SparseFinetune.__init__', 'selection'): "a ModuleSelection object, not the `selection` rule",
    ('sensitivity', 'select_modules', 'max_flops'): "a primitive on given scores: no FLOP cap unless costs are given",
    ('prediction', 'predict_logits', 'bs'): "inference batch (no gradients): twice the training batch",
    ('prediction', 'AdaptedClassifier.logits', 'bs'): "inference batch", ('prediction', 'AdaptedClassifier.predict', 'bs'): "inference batch",
    ('prediction', 'AdaptedClassifier.predict_proba', 'bs'): "inference batch", ('prediction', 'evaluate', 'bs'): "inference batch",
    ('prediction', 'evaluate', 'max_length'): "None: the learner's or the classifier's own",
    ('runs', 'save_run', 'selection'): "a ModuleSelection object", ('runs', 'save_run', 'model'): "a model object",
    ('prompting', 'generate_answers', 'bs'): "generation batch of prompts", ('prompting', 'prompt_classify', 'bs'): "generation batch",
    ('prompting', 'pick_shots', 'seed'): "the seed of the drawn examples (prompt_classify passes the run's)",
    ('prompting', 'prompt_classify', 'seed'): "the seed of the drawn examples (the run passes its own)",
    ('experiments', 'bow_runner', 'model'): "a grid runner's signature: ignored", ('experiments', 'bow_runner', 'budget'): "recorded only",
    ('experiments', 'table_budget', 'task_tokens'): "which rows a table shows", ('experiments', 'table_costs', 'model'): "a table filter",
}
EXEMPT = {'bide': "the standalone miner keeps BIDE's own defaults (any gap, min_len 3); select_task_sequences passes the run's",
          'data': "`seed` of a loader is the seed of its split, `n_train` a dataset's own subsample (appendix 8.1)",
          'config': 'the definitions themselves'}

def _literal_defaults():
    "(module, function, parameter, default) for parameters named after a result-determining setting."
    names = {f.name for f in fields(AdaptConfig)} - set(OUTPUT_FIELDS)
    for py in MODULES:
        if py.stem in EXEMPT: continue
        tree = ast.parse(py.read_text())
        for cls in [None] + [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            body = tree.body if cls is None else cls.body
            for fn in [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
                a = fn.args
                pos = a.posonlyargs + a.args
                pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults)) + list(zip(a.kwonlyargs, a.kw_defaults))
                for arg, d in pairs:
                    if d is None or arg.arg not in names: continue
                    if isinstance(d, ast.Attribute) and ast.unparse(d) == f'AdaptConfig.{arg.arg}': continue
                    yield py.stem, fn.name if cls is None else f'{cls.name}.{fn.name}', arg.arg, ast.unparse(d)

def test_no_literal_default_of_a_setting_outside_config():
    "A step's default for a setting is AdaptConfig's (so composing the steps by hand is `adapt()`), never a literal."
    bad = [f'{m}.{f}({p}={d})' for m, f, p, d in _literal_defaults() if (m, f, p) not in NOT_SETTINGS]
    assert not bad, bad
    stale = [k for k in NOT_SETTINGS if k not in {(m, f, p) for m, f, p, _ in _literal_defaults()}]
    assert not stale, f'NOT_SETTINGS lists parameters that are gone or fixed: {stale}'

def test_the_check_catches_a_literal_default(tmp_path):
    "The rule above can fail: a module with `beta=0.1` is caught."
    (tmp_path/'mod.py').write_text("def scores(sens, beta=0.1, normalize=AdaptConfig.normalize): pass\n")
    global MODULES
    saved, MODULES = MODULES, [tmp_path/'mod.py']
    try: found = list(_literal_defaults())
    finally: MODULES = saved
    assert found == [('mod', 'scores', 'beta', '0.1')]

# --- one registry of methods, one atomic writer --------------------------------------------------------------------

def test_one_registry_of_methods():
    "Every `Method` the package defines is in METHODS; no other table of methods, learning rates or labels exists."
    import importlib
    from adapt_nb.pipeline import Method
    from adapt_nb.methods import METHODS
    defined = [v for py in MODULES for v in vars(importlib.import_module(f'adapt_nb.{py.stem}')).values()
               if isinstance(v, Method)]
    assert {id(m) for m in defined} == {id(m) for m in METHODS.values()}
    text = {py.stem: py.read_text() for py in MODULES}
    old = re.compile(r"DEFAULT_LR|METHOD_LABELS|METHOD_KWARGS|_TRAINABLE\b|PEFT_METHODS|'adapt' if .*sparse|lr_for\(")
    assert not [m for m, t in text.items() if old.search(t)], [m for m, t in text.items() if old.search(t)]
    assert [m for m, t in text.items() if re.search(r'^METHODS\s*=', t, re.M)] == ['methods']

def test_one_atomic_writer():
    "Temporary files, fsync and file locks live in `files` alone (runs moves whole run directories with os.replace)."
    low = re.compile(r'mkstemp|mkdtemp|fsync|fcntl|NamedTemporaryFile')
    assert [py.stem for py in MODULES if low.search(py.read_text())] == ['files']
    assert sorted(py.stem for py in MODULES if 'os.replace(' in py.read_text()) == ['files', 'runs']
