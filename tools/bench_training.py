"""Benchmark sparse finetuning (AdaPT's `SparseFinetune`) against end-to-end finetuning on the same batches, in one process.

Prints, per training step (forward + backward + optimizer step) on identical batches of the embedded Rotten Tomatoes task with
task tokens: median wall and CPU time of both methods and their ratio; the FLOPs ratio (torch.utils.flop_counter) next to the
floor (2+f)/3; and the padding saved by length-grouped batches over random batches.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python tools/bench_training.py --steps 12
"""
import argparse, os, time, warnings
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore")
import numpy as np, torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n_train", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--budget", type=float, default=0.1)
    ap.add_argument("--bs", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from transformers.utils import logging as hl
    hl.set_verbosity_error(); hl.disable_progress_bar()
    from adapt_nb.data import load_rotten_tomatoes
    from adapt_nb.models import load_classifier
    from adapt_nb.tokenization import TaskTokenizer, resize_token_embeddings
    from adapt_nb.sensitivity import sensitivity_batches, module_sensitivity, sensitivity_scores, select_modules
    from adapt_nb.batching import task_dataloaders, LengthGroupedDL
    from adapt_nb.learner import classifier_learner, SparseFinetune
    from adapt_nb.costs import measure_costs
    print(f"load average {os.getloadavg()[0]:.2f} (2-core VM, one torch thread)")
    task = load_rotten_tomatoes(seed=0).subsample(n_train=a.n_train, seed=0)
    base, tok = load_classifier("minilm", 2, task.label_names)
    tt = TaskTokenizer.from_texts(tok, task.train['text'].tolist())
    print(f"{tt.n_task} task tokens mined on {len(task.train)} snippets")
    models = {}
    for k in ("adapt", "e2e"):
        torch.manual_seed(0)
        m = load_classifier("minilm", 2, task.label_names)[0]
        resize_token_embeddings(m, tt, seed=0)
        models[k] = m
    b = sensitivity_batches(tt, task.train["text"], task.train["label"], bs=32, max_length=64, n_samples=64)
    sel = select_modules(sensitivity_scores(module_sensitivity(models["adapt"], b, progress=False), 0.1, "rank"), a.budget,
                         new_token_ids=tt.task_ids)
    learners = {k: classifier_learner(models[k], task_dataloaders(task, tt, bs=a.bs, seed=0), lr=1e-4,
                                      cbs=[SparseFinetune(sel)] if k == "adapt" else None) for k in models}
    for l in learners.values(): l.create_opt()
    batches = [bt for _, bt in zip(range(a.steps), learners["e2e"].dls.train)]
    times = {k: [] for k in learners}
    for i, (xb, yb) in enumerate(batches):           # interleaved, so that load changes hit both methods alike
        for k, l in learners.items():
            l.model.train()
            w, c = time.perf_counter(), time.process_time()
            loss = l.loss_func(l.model(xb), yb); loss.backward(); l.opt.step(); l.opt.zero_grad()
            if i > 0: times[k].append((time.perf_counter() - w, time.process_time() - c))   # step 0 is warm-up
    med = {k: np.median(np.array(v), 0) for k, v in times.items()}
    for k, (w, c) in med.items(): print(f"{k:5s}: median step {w*1000:.0f} ms wall, {c*1000:.0f} ms CPU")
    print(f"AdaPT/E2E time per step: wall {med['adapt'][0]/med['e2e'][0]:.3f}, CPU {med['adapt'][1]/med['e2e'][1]:.3f}")
    c_sp, c_e2e = (measure_costs(learners[k], n_batches=4) for k in ("adapt", "e2e"))
    f = c_sp["trainable_share"]
    print(f"FLOPs per epoch: AdaPT {c_sp['flops_per_epoch']/1e12:.2f} T, E2E {c_e2e['flops_per_epoch']/1e12:.2f} T, "
          f"ratio {c_sp['flops_per_epoch']/c_e2e['flops_per_epoch']:.3f}; floor (2+f)/3 = {(2+f)/3:.3f} at f = {f:.3f}")
    dl = learners["e2e"].dls.train
    L = dl.lengths
    idx = np.array(dl.get_idxs()); rnd = np.random.default_rng(0).permutation(len(L))
    def padded(order): return sum(int(L[order[s:s+a.bs]].max()) * len(order[s:s+a.bs]) for s in range(0, len(order), a.bs))
    print(f"padded tokens per epoch: length-grouped {padded(idx):,}, random {padded(rnd):,} "
          f"(ratio {padded(idx)/padded(rnd):.3f}; real tokens {int(L.sum()):,})")


if __name__ == "__main__":
    main()
