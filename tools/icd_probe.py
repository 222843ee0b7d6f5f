"""The frozen-feature probe of nbs/05_tokenization.ipynb on the ICD-10-CM task (issue 21): do task tokens help?

Frozen MiniLM; features: the attention-masked mean of the last hidden states (the checkpoint's own pooling), inputs
cut at 64 tokens; a logistic regression (scikit-learn defaults, max_iter 3000) trained on 3,000 training descriptions
(the stratified slice of `load_icd10cm(seed=0)` that `n_train=3000, seed=0` gives), macro-F1 on the whole valid and
test splits. Base tokenizer vs the default task tokenizer (Alg. 1-2 with the `AdaptConfig` defaults, as `adapt()`
builds it from the 3,000 training texts), task-token rows initialised with `resize_token_embeddings(init='mean')`
and never trained.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 nice .venv/bin/python tools/icd_probe.py results/icd_probe.json
"""
import json, os, sys, time
os.environ.setdefault('OMP_NUM_THREADS', '1'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, torch
torch.set_num_threads(1)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from transformers import AutoModel, AutoTokenizer
from adapt_nb.config import AdaptConfig
from adapt_nb.data import load_icd10cm
from adapt_nb.models import embedded_path
from adapt_nb.sequences import select_task_sequences
from adapt_nb.tokenization import TaskTokenizer, resize_token_embeddings

MAX_LENGTH = 64

@torch.no_grad()
def mean_pooled(tok, texts:list, init:str='mean')->np.ndarray:
    "Frozen MiniLM (task-token rows initialised with `init`): the attention-masked mean of the last hidden states."
    m = AutoModel.from_pretrained(embedded_path('minilm')[0]).eval()
    if isinstance(tok, TaskTokenizer): resize_token_embeddings(m, tok, init=init)
    out = []
    for i in range(0, len(texts), 64):
        e = tok(texts[i:i + 64], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors='pt')
        h, a = m(**e).last_hidden_state, e['attention_mask'][..., None]
        out.append(((h * a).sum(1) / a.sum(1)).numpy())
    return np.concatenate(out)

def probe(task, tok)->dict:
    "Valid and test macro-F1 of a logistic regression on the frozen features of `tok`'s inputs."
    t0 = time.time()
    X = {s: mean_pooled(tok, df.text.tolist()) for s, df in task.splits.items()}
    clf = LogisticRegression(max_iter=3000).fit(X['train'], task.train.label)
    f1 = {s: float(f1_score(df.label, clf.predict(X[s]), average='macro')) for s, df in task.splits.items()}
    return dict(valid=f1['valid'], test=f1['test'], train=f1['train'], seconds=time.time() - t0)

if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else 'results/icd_probe.json'
    task = load_icd10cm(seed=0).subsample(n_train=3000, seed=0)
    base = AutoTokenizer.from_pretrained(embedded_path('minilm')[0])
    t0 = time.time()
    tt = TaskTokenizer.from_texts(base, task.train.text.tolist(),
                                  **AdaptConfig(max_length=MAX_LENGTH).kwargs_for(select_task_sequences))
    mined_s = time.time() - t0
    stats = tt.task_token_stats(task.train.text.tolist(), MAX_LENGTH)
    res = dict(task='icd10cm', n_train=len(task.train), n_valid=len(task.valid), n_test=len(task.test),
               n_task=tt.n_task, task_tokens_per_input=stats['per_input'], task_token_share=stats['share'],
               mining_s=mined_s, first_task_tokens=tt.names[:20],
               base=probe(task, base), task_tokens_mean_rows=probe(task, tt))
    with open(out, 'w') as f: json.dump(res, f, indent=1, default=float)
    print(json.dumps({k: v for k, v in res.items() if k != 'first_task_tokens'}, indent=1, default=float))
