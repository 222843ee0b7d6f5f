"""Architecture coverage without downloads (issue 23): a tiny random classifier of each family, built from its config
class with a tokenizer of its kind (the embedded WordPiece or byte-level BPE one), goes through `adapt()` with task
tokens (load_classifier -> task tokens -> module_sensitivity -> select_modules under the FLOP cap -> sparse steps ->
save) and back through `load_adapted`. Only the selected units, the head and the task-token rows move; the reloaded
run predicts the same; decoders read the same logits from left- and right-padded batches. MPNet (a batch-shared
relative position bias), DeBERTa-v2 (relative embeddings read as weights, projections of them), ALBERT (one layer run
at every depth) and models with padded vocabularies (more embedding rows than tokens) are in the matrix."""
import json
import numpy as np, pytest, torch, transformers
from transformers import AutoModelForSequenceClassification
from adapt_nb.data import load_rotten_tomatoes
from adapt_nb.pipeline import adapt
from adapt_nb.runs import load_adapted
from adapt_nb.tokenization import TaskTokenizer
from conftest import SIZES, base_tokenizer

TASK = load_rotten_tomatoes(seed=0).subsample(n_train=40, n_valid=8, n_test=16, seed=0)
RUN = dict(epochs=1, min_steps=3, bs=16, max_length=32, n_sens=16, count_flops=0, progress=False, budget=0.2,
           max_flops=0.55, task_tokens=True, min_support=2, max_tokens=6)
ARCH = dict(SIZES, num_labels=2, embedding_size=16, head_dim=16)
DEBERTA = dict(relative_attention=True, pos_att_type=['p2c', 'c2p'], share_att_key=True, norm_rel_ebd='layer_norm',
               position_buckets=16, max_relative_positions=-1)
# (config class, tokenizer, decoder, extra config, units that cannot be scored per example: name fragments)
FAMILIES = [('BertConfig', 'minilm', False, {}, ()), ('RobertaConfig', 'smollm2', False, {}, ()),
            ('DistilBertConfig', 'minilm', False, {}, ()), ('AlbertConfig', 'minilm', False, {}, ()),
            ('ElectraConfig', 'minilm', False, {}, ()),
            ('MPNetConfig', 'minilm', False, {}, ('relative_attention_bias',)),
            ('DebertaV2Config', 'minilm', False, DEBERTA, ('rel_embeddings', 'encoder.LayerNorm', 'key_proj',
                                                           'query_proj')),
            ('ModernBertConfig', 'minilm', False, {}, ()), ('XLMRobertaConfig', 'smollm2', False, {}, ()),
            ('GPT2Config', 'smollm2', True, {}, ()), ('LlamaConfig', 'smollm2', True, {}, ()),
            ('Qwen2Config', 'smollm2', True, {}, ()), ('Qwen3Config', 'smollm2', True, {}, ()),
            ('Gemma2Config', 'smollm2', True, {}, ()), ('Gemma3TextConfig', 'smollm2', True, {}, ()),
            ('Phi3Config', 'smollm2', True, {}, ()), ('MistralConfig', 'smollm2', True, {}, ())]
ST_POOLING = {'MPNetConfig': 'mean'}     # families saved with a sentence-transformers pooling config: 'auto' reads it


def tiny_checkpoint(d, config, tokenizer, extra=(), spare_rows=0, pooling=None):
    "A tiny random classifier of `config`'s family saved to `d` with `tokenizer` (`spare_rows` more rows than tokens)."
    tok = base_tokenizer(tokenizer)
    ids = {k: getattr(tok, k) for k in ('bos_token_id', 'eos_token_id', 'cls_token_id', 'sep_token_id', 'pad_token_id')
           if getattr(tok, k, None) is not None}
    cfg = getattr(transformers, config)(vocab_size=len(tok) + spare_rows, **ids, **ARCH, **dict(extra))
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(cfg)
    model.save_pretrained(d); tok.save_pretrained(d)
    if pooling:                              # as a sentence-transformers checkpoint declares its readout
        (d/'modules.json').write_text(json.dumps([{'idx': 0, 'name': '0', 'path': '', 'type':
                                                   'sentence_transformers.models.Transformer'},
                                                  {'idx': 1, 'name': '1', 'path': '1_Pooling', 'type':
                                                   'sentence_transformers.models.Pooling'}]))
        (d/'1_Pooling').mkdir()
        (d/'1_Pooling'/'config.json').write_text(json.dumps({f'pooling_mode_{k}': k == {'mean': 'mean_tokens'}[pooling]
                                                             for k in ('mean_tokens', 'cls_token', 'max_tokens')}))
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def moved(before, model, sel, rows):
    "Names of the parameters that changed, after checking that nothing outside the selection, head and `rows` did."
    allowed, emb = set(sel.param_names(model)), sel.embedding
    changed = []
    for n, p in model.named_parameters():
        old, new = before[n], p.detach()
        if old.shape != new.shape:                                  # the embedding grew for the task tokens
            assert n == f'{emb}.weight' and torch.equal(new[:len(old)][:rows[0]], old[:rows[0]]), n
            old = torch.cat([old, new[len(old):]])
        if torch.equal(old, new): continue
        changed.append(n)
        if n in allowed: continue
        assert n == f'{emb}.weight', f"{n} moved but is not selected"
        diff = (old != new).any(1).nonzero().flatten().tolist()
        assert set(diff) <= set(rows), f"embedding rows {sorted(set(diff) - set(rows))[:5]} moved: not task tokens"
    return changed


def padded(rows, left):
    "Token id lists padded to one length on one side: (input_ids, attention_mask, position ids from the mask)."
    L = max(map(len, rows))
    ids, mask = torch.zeros(len(rows), L, dtype=torch.long), torch.zeros(len(rows), L, dtype=torch.long)
    for i, r in enumerate(rows):
        sl = slice(L - len(r), L) if left else slice(0, len(r))
        ids[i, sl] = torch.tensor(r); mask[i, sl] = 1
    return ids, mask, (mask.cumsum(1) - 1).clamp(min=0)


def same_both_sides(clf, texts):
    "A decoder's logits with left and with right padding (position ids from the mask): equal, and equal to the run's."
    enc = clf.tokenizer(texts, truncation=True, max_length=32)['input_ids']
    pad, out = clf.tokenizer.pad_token_id, {}
    for left in (False, True):
        ids, mask, pos = padded(enc, left)
        ids[mask == 0] = pad
        with torch.no_grad(): out[left] = clf.model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
    torch.testing.assert_close(out[True], out[False], atol=1e-5, rtol=0)
    np.testing.assert_allclose(out[False].numpy(), clf.logits(texts), atol=1e-5)


@pytest.mark.parametrize('config,tokenizer,decoder,extra,unscored', FAMILIES, ids=[f[0][:-6] for f in FAMILIES])
def test_family_adapts_and_reloads(config, tokenizer, decoder, extra, unscored, tmp_path):
    "Task tokens, sensitivity, FLOP-capped selection, sparse steps, save and reload, for a tiny model of the family."
    d = tmp_path/'ckpt'
    before = tiny_checkpoint(d, config, tokenizer, extra, pooling=ST_POOLING.get(config))
    res = adapt(TASK, model=str(d), out_dir=tmp_path/'run', **RUN)
    sel, tok = res.selection, res.classifier.tokenizer
    assert isinstance(tok, TaskTokenizer) and tok.n_task > 0 and sel.modules and sel.table.attrs['flops_share'] <= 0.55
    # the rows train unless the FLOP cap leaves them frozen (their gradient would reach down to the input)
    assert sel.new_token_ids == ([] if sel.table.attrs['rows_frozen'] else tok.task_ids)
    skipped = sel.table.attrs['not_per_example']
    assert all(any(u in n for n in skipped) for u in unscored), skipped         # named, with why
    assert all(any(u in n for u in unscored) for n in skipped), skipped
    assert sel.table.loc[sel.table['name'].isin(list(skipped)), ['I', 'G']].isna().all().all()
    clf = load_adapted(tmp_path/'run')
    assert clf.model.config.adapt_nb_pooling == ST_POOLING.get(config, 'native')    # 'auto': declared, else native
    changed = moved(before, clf.model, sel, sel.new_token_ids or [len(tok)])
    assert any(n != f'{sel.embedding}.weight' for n in changed)
    texts = TASK.test['text'].tolist()
    np.testing.assert_allclose(clf.predict_proba(texts), res.classifier.predict_proba(texts), atol=1e-5)
    if decoder: same_both_sides(clf, texts)


PADDED = [('DebertaV2Config', 'minilm', 0), ('DebertaV2Config', 'minilm', 4), ('DebertaV2Config', 'minilm', 20),
          ('Qwen2Config', 'smollm2', 4)]


@pytest.mark.parametrize('config,tokenizer,max_tokens', PADDED,
                         ids=['deberta-no-tokens', 'deberta-4-tokens', 'deberta-20-tokens', 'qwen2-4-tokens'])
def test_padded_vocabulary(config, tokenizer, max_tokens, tmp_path):
    """8 (or 64) more embedding rows than tokens: task token k takes row len(tokenizer) + k, the spare rows first and
    rows appended after the last only beyond them; spare rows left over do not move; the run reloads."""
    spare = 64 if config == 'Qwen2Config' else 8
    d, n_base = tmp_path/'ckpt', len(base_tokenizer(tokenizer))
    before = tiny_checkpoint(d, config, tokenizer, DEBERTA if config == 'DebertaV2Config' else {}, spare_rows=spare)
    kw = dict(RUN, task_tokens=max_tokens > 0, max_tokens=max(max_tokens, 1), max_flops=None)   # the rows train
    res = adapt(TASK, model=str(d), out_dir=tmp_path/'run', **kw)
    clf, tok = load_adapted(tmp_path/'run'), res.classifier.tokenizer
    n_task = tok.n_task if isinstance(tok, TaskTokenizer) else 0
    assert 0 < n_task <= max_tokens and (n_task > spare) == (max_tokens > spare) if max_tokens else n_task == 0
    rows = clf.model.get_input_embeddings().num_embeddings
    assert rows == max(n_base + spare, n_base + n_task)
    new = list(range(n_base, n_base + n_task))
    assert res.selection.new_token_ids == new
    changed = moved(before, clf.model, res.selection, new or [rows])
    assert (f'{res.selection.embedding}.weight' in changed) == bool(new)
    w, w0 = clf.model.get_input_embeddings().weight, before[f'{res.selection.embedding}.weight']
    assert torch.equal(w[n_base + n_task:n_base + spare], w0[n_base + n_task:])    # unused spare rows: untouched
    texts = TASK.test['text'].tolist()
    np.testing.assert_allclose(clf.predict_proba(texts), res.classifier.predict_proba(texts), atol=1e-5)
