"""Serving speed of a saved run (issue 22), in one process on the same texts: examples/s of `load_adapted(run).predict`,
of transformers' `pipeline('text-classification', model=run, trust_remote_code=True)`, and of the bare base model with
a plain head (`AutoModelForSequenceClassification` of the run's checkpoint, its own readout, its plain tokenizer,
length-sorted batches: the fastest plain transformers loop); then the targets of the issue: without task tokens the
run >= 0.9x the bare model, with task tokens >= (1 - task-token share of the input tokens) - 0.05.

With --memory N, also the peak resident memory of `adapt_nb predict RUN --file F --out O` on a text file of N texts
and on one of 10 N (each in its own process): streaming means the two are about the same. --n 0 skips the speeds.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_predict.py RUN_DIR [--n 10000] [--memory 20000]

The texts are the embedded Rotten Tomatoes snippets (all splits, in order; the first --n), or --texts FILE (one per
line). Methods run in turn, --repeats times; each method's best pass counts (other jobs on the machine slow some
passes).
"""
import argparse, json, os, subprocess, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np, torch

warnings.filterwarnings('ignore')


def rt_texts(n, cycle=False):
    "The first n embedded RT snippets (all splits in order), repeated if `cycle` and n is larger than the corpus."
    from adapt_nb.data import load_rotten_tomatoes
    t = load_rotten_tomatoes()
    texts = [x for s in ('train', 'valid', 'test') for x in t.splits[s]['text'].tolist()]
    if n > len(texts) and not cycle: raise SystemExit(f"--n {n}: the embedded task has {len(texts)} texts")
    return (texts * (n // len(texts) + 1))[:n]


def bare_model(run, meta):
    "The run's checkpoint as a plain classifier: its own head and readout, its plain tokenizer."
    from transformers import AutoModelForSequenceClassification
    from adapt_nb.models import checkpoint_tokenizer, resolve_checkpoint
    src, gguf, _ = resolve_checkpoint(meta['config']['model'])
    tok = checkpoint_tokenizer(meta['config']['model'])
    kw = dict(gguf_file=gguf, dtype=torch.float32) if gguf else {}
    model = AutoModelForSequenceClassification.from_pretrained(src, num_labels=len(meta['label_names']), **kw)
    model.config.pad_token_id = tok.pad_token_id
    return model.eval(), tok


@torch.inference_mode()
def bare_predict(model, tok, texts, bs, max_length):
    "Length-sorted batches through the plain tokenizer and model; labels in input order."
    lens = [len(x) for x in tok(texts, truncation=True, max_length=max_length)['input_ids']]
    order, out = np.argsort(lens, kind='stable')[::-1], np.zeros(len(texts), np.int64)
    for i in range(0, len(texts), bs):
        sel = order[i:i + bs]
        enc = tok([texts[j] for j in sel], truncation=True, max_length=max_length, padding=True, return_tensors='pt')
        out[sel] = model(**enc).logits.argmax(-1).numpy()
    return out


def task_token_share(tok, texts, max_length):
    "Task tokens as a share of all input tokens (0 without task tokens)."
    if not hasattr(tok, 'n_task'): return 0.0
    enc = tok(texts, truncation=True, max_length=max_length, return_task_tokens_mask=True)
    return sum(map(sum, enc['task_tokens_mask'])) / sum(map(len, enc['input_ids']))


def speeds(run, texts, bs, repeats):
    "Best examples/s of each method over `repeats` passes, methods in turn; and the task-token share."
    from transformers import pipeline
    from adapt_nb.runs import load_adapted
    meta = json.loads((Path(run)/'adapt_config.json').read_text())
    L = meta['config']['max_length']
    clf = load_adapted(run)
    pipe = pipeline('text-classification', model=str(run), trust_remote_code=True)
    model, tok = bare_model(run, meta)
    methods = {'load_adapted(run).predict': lambda: clf.predict(texts, bs=bs),
               'transformers pipeline on the run': lambda: pipe(texts, batch_size=bs),
               'bare base model, plain head': lambda: bare_predict(model, tok, texts, bs, L)}
    best = {k: 0.0 for k in methods}
    for r in range(repeats):
        for k, f in methods.items():
            t0 = time.perf_counter(); f(); s = time.perf_counter() - t0
            best[k] = max(best[k], len(texts) / s)
            print(f"  pass {r + 1}: {k:<34} {len(texts) / s:8.1f} examples/s", file=sys.stderr, flush=True)
    return best, task_token_share(clf.tokenizer, texts, L), meta


def peak_rss_mb(cmd):
    "Peak resident memory (MB) of a command run in its own process."
    wrap = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)")
    out = subprocess.run([sys.executable, '-c', wrap, *cmd], capture_output=True, text=True, check=True)
    kb = int(out.stdout.strip().splitlines()[-1])
    if kb < 0: raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    return kb / 1024


def memory(run, texts, bs):
    "Peak RSS of `adapt_nb predict` streaming a file of the texts, and one ten times longer."
    exe = str(Path(sys.executable).parent/'adapt_nb')
    with tempfile.TemporaryDirectory() as d:
        res = {}
        for k in (1, 10):
            f = Path(d)/f'x{k}.txt'
            f.write_text(''.join(t.replace('\n', ' ') + '\n' for t in texts * k))
            t0 = time.perf_counter()
            mb = peak_rss_mb([exe, 'predict', str(run), '--file', str(f), '--out', str(Path(d)/'o.csv'),
                              '--bs', str(bs), '--no-progress'])
            res[f'{len(texts) * k} texts'] = dict(peak_rss_mb=round(mb), file_mb=round(f.stat().st_size / 2**20, 1),
                                                  seconds=round(time.perf_counter() - t0))
            print(f"  memory: {len(texts) * k:,} texts: peak RSS {mb:,.0f} MB", file=sys.stderr, flush=True)
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('run', help='a finished run directory')
    p.add_argument('--n', type=int, default=10_000, help='texts to classify')
    p.add_argument('--texts', help='a text file, one input per line (default: the embedded RT snippets)')
    p.add_argument('--bs', type=int, default=64, help='batch size of every method')
    p.add_argument('--repeats', type=int, default=2, help='passes per method (the best counts)')
    p.add_argument('--memory', type=int, default=0, help='peak memory of the streaming predictor on N and 10 N texts')
    p.add_argument('--json', help='also write the results here')
    a = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    read = lambda n: Path(a.texts).read_text().splitlines()[:n] if a.texts else rt_texts(n, cycle=n == a.memory)
    res = dict(run=Path(a.run).name, model=json.loads((Path(a.run)/'adapt_config.json').read_text())['config']['model'],
               bs=a.bs, torch_threads=torch.get_num_threads())
    if a.n:
        texts = read(a.n)
        best, share, _ = speeds(a.run, texts, a.bs, a.repeats)
        bare = best['bare base model, plain head']
        target = 0.9 if share == 0 else (1 - share) - 0.05
        res.update(n=len(texts), examples_per_s={k: round(v, 1) for k, v in best.items()},
                   task_token_share=round(share, 4), ratio={k: round(v / bare, 3) for k, v in best.items()},
                   target_ratio=round(target, 3))
        res['meets_target'] = res['ratio']['load_adapted(run).predict'] >= target
    if a.memory: res['memory'] = memory(a.run, read(a.memory), a.bs)
    print(json.dumps(res, indent=1))
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1) + '\n')
    return res


if __name__ == '__main__':
    main()
