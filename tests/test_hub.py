"""Runs that plain transformers loads as trained (issue 22): the saved task tokenizer gives `TaskTokenizer`'s ids in every
mode on the whole RT test split; runs of a tiny random BERT and a tiny random Llama (mean / last-token / native readouts,
with and without task tokens) load through `pipeline(..., trust_remote_code=True)` with `load_adapted`'s probabilities,
refuse to load without it, survive `save_pretrained` round trips, and write the same model card when written again or
finished by a resume."""
import json, os, shutil, subprocess, sys, textwrap
import numpy as np, pytest
from huggingface_hub import ModelCard
from transformers import AutoModelForSequenceClassification, AutoTokenizer, LlamaConfig, LlamaForSequenceClassification
from transformers import pipeline
from adapt_nb.data import load_task, load_rotten_tomatoes
from adapt_nb.hub import MODELING_FILE, TOKENIZER_FILE, PIPELINE_FILE, export_run, write_tokenizer_view
from adapt_nb.pipeline import adapt
from adapt_nb.runs import load_adapted
from adapt_nb.tokenization import TaskTokenizer
from conftest import SIZES, base_tokenizer

RT = load_rotten_tomatoes()
TEST = RT.test['text'].tolist()
TINY = dict(epochs=1, min_steps=0, bs=16, max_length=32, n_sens=16, count_flops=0, progress=False)


def proba(p, texts, names, bs=16):
    "Probabilities from a text-classification pipeline, (n, classes) in the order of `names`."
    return np.array([[{d['label']: d['score'] for d in o}[n] for n in names] for o in p(texts, batch_size=bs, top_k=None)])


def view_of(tt, d):
    "The task tokenizer saved, made loadable by plain transformers, loaded back by AutoTokenizer."
    tt.save_pretrained(d); write_tokenizer_view(d)
    return AutoTokenizer.from_pretrained(str(d), trust_remote_code=True)


MODES = [('minilm', dict(max_gap=0)), ('minilm', dict(max_gap=2)), ('minilm', dict(max_gap=None, min_len=3)),
         ('minilm', dict(max_gap=0, attach='replace', share_position=True)),
         ('minilm', dict(max_gap=None, min_len=3, share_position=True)),
         ('smollm2', dict(max_gap=0, share_position=True)), ('smollm2', dict(max_gap=0, attach='replace'))]


@pytest.mark.parametrize('model,kw', MODES, ids=[f"{m}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for m, kw in MODES])
def test_saved_task_tokenizer_is_task_tokenizer(model, kw, tmp_path):
    "Ids, token types, attention masks and position ids equal TaskTokenizer's on all 1,274 test snippets, in every call."
    base = base_tokenizer(model)
    tt = TaskTokenizer.from_texts(base, RT.train['text'].tolist()[:2000], min_support=5, count_rule='cap',
                                  max_tokens=300, **kw)
    rt = view_of(tt, tmp_path)
    assert type(rt).__name__ == 'AdaptNbTaskTokenizerFast' and len(rt) == len(tt)
    calls = [dict(truncation=True, max_length=48), dict(), dict(truncation=True, max_length=20),
             dict(padding=True, truncation=True, max_length=40, return_tensors='np')]
    for call in calls:
        a, b = tt(TEST, **call), rt(TEST, **call)
        assert set(a) == set(b), call
        for k in a: assert np.array_equal(np.asarray(a[k], dtype=object), np.asarray(b[k], dtype=object)), (call, k)
    a = tt(TEST[:300], TEST[300:600], truncation=True, max_length=40)             # pairs
    b = rt(TEST[:300], TEST[300:600], truncation=True, max_length=40)
    assert a['input_ids'] == b['input_ids'] and a.get('position_ids') == b.get('position_ids')
    s = 'a great [SEP] film, [CLS] <|im_end|> and the best of the year'            # special tokens written in the text
    assert tt(s, truncation=True, max_length=24)['input_ids'] == rt(s, truncation=True, max_length=24)['input_ids']
    assert rt.decode(rt.encode(TEST[0], add_special_tokens=False)) == base.decode(base.encode(TEST[0],
                                                                                             add_special_tokens=False))


@pytest.fixture(scope='session')
def tiny_llama(tmp_path_factory):
    "A 2-layer random Llama (hidden 32) with the embedded SmolLM2 tokenizer."
    d = tmp_path_factory.mktemp('llama')/'tiny'
    tok = base_tokenizer('smollm2')
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=2, intermediate_size=64, max_position_embeddings=256, num_labels=2,
                      pad_token_id=tok.pad_token_id)
    LlamaForSequenceClassification(cfg).save_pretrained(d); tok.save_pretrained(d)
    return d


@pytest.fixture(scope='session')
def data(tiny_setup):
    return load_task(tiny_setup/'data.csv')


def agree(run, texts):
    "pipeline(run_dir) and pipeline(model/, tokenizer/) with trust_remote_code=True give load_adapted's probabilities."
    clf = load_adapted(run)
    want = clf.predict_proba(texts)
    p = pipeline('text-classification', model=str(run), trust_remote_code=True)
    np.testing.assert_allclose(proba(p, texts, clf.label_names), want, atol=1e-5)
    sub = pipeline('text-classification', model=str(run/'model'), tokenizer=str(run/'tokenizer'), trust_remote_code=True)
    np.testing.assert_allclose(proba(sub, texts, clf.label_names), want, atol=1e-5)
    return p, clf, want


REFUSE = textwrap.dedent('''
    import sys
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
    for what, path in zip(sys.argv[1::2], sys.argv[2::2]):
        try:
            if what == 'model': AutoModelForSequenceClassification.from_pretrained(path)
            elif what == 'tokenizer': AutoTokenizer.from_pretrained(path)
            else: pipeline('text-classification', model=path)
        except Exception as e: print('\\nREFUSED', str(e).replace('\\n', ' '))   # after the prompt transformers printed
        else: print('\\nLOADED')
''')


def refused(*loads):
    "Load each (what, path) without trust_remote_code (the default; stdin closed, as in a script): its message or None."
    args = [str(x) for load in loads for x in load]
    out = subprocess.run([sys.executable, '-c', REFUSE, *args], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, env=dict(os.environ, HF_HUB_OFFLINE='1'))
    lines = [l for l in out.stdout.splitlines() if l.startswith(('REFUSED', 'LOADED'))]
    assert len(lines) == len(loads), out.stdout[-2000:] + out.stderr[-2000:]
    return [None if l == 'LOADED' else l for l in lines]


def test_bert_mean_with_task_tokens(tiny_setup, data, tmp_path):
    "A mean-pooled BERT with gapped task tokens: its code is saved; without trust_remote_code nothing loads."
    run = tmp_path/'bert'
    adapt(data, model=str(tiny_setup/'tiny'), pooling='mean', task_tokens=True, max_gap=None, min_len=3,
          min_support=3, max_tokens=20, out_dir=run, **TINY)
    for f in (MODELING_FILE, TOKENIZER_FILE, PIPELINE_FILE, 'config.json', 'model.safetensors', 'README.md'):
        assert (run/f).is_file(), f
    assert json.loads((run/'config.json').read_text())['adapt_nb_pooling'] == 'mean'
    agree(run, data.test['text'].tolist())
    for msg in refused(('model', run/'model'), ('tokenizer', run/'tokenizer'), ('pipeline', run)):
        assert msg is not None and 'trust_remote_code=True' in msg, msg


def test_llama_last_token_replace_shared_positions(tiny_llama, data, tmp_path):
    "A decoder read at its last token, task tokens replacing their pieces at shared positions; round trips."
    run = tmp_path/'llama'
    adapt(data, model=str(tiny_llama), pooling='last', task_tokens=True, attach='replace', share_position=True,
          min_support=3, max_tokens=20, out_dir=run, **TINY)
    texts = data.test['text'].tolist()
    p, clf, want = agree(run, texts)
    assert 'position_ids' in p.tokenizer(texts[:2])
    p.model.save_pretrained(tmp_path/'m'); p.tokenizer.save_pretrained(tmp_path/'m')          # the model saved alone
    again = pipeline('text-classification', model=str(tmp_path/'m'), trust_remote_code=True)
    np.testing.assert_allclose(proba(again, texts, clf.label_names), want, atol=1e-5)
    p.save_pretrained(tmp_path/'p')                                                          # the whole pipeline
    again = pipeline('text-classification', model=str(tmp_path/'p'), trust_remote_code=True)
    np.testing.assert_allclose(proba(again, texts, clf.label_names), want, atol=1e-5)


def test_native_readout_needs_no_code(tiny_llama, data, tmp_path):
    "The architecture's own readout, no task tokens: no model or tokenizer code; plain loading is the trained model."
    run = tmp_path/'native'
    adapt(data, model=str(tiny_llama), out_dir=run, task_tokens=False, **TINY)
    assert not (run/MODELING_FILE).exists() and not (run/TOKENIZER_FILE).exists() and (run/PIPELINE_FILE).exists()
    model_msg, tok_msg, pipe_msg = refused(('model', run), ('tokenizer', run), ('pipeline', run))
    assert model_msg is None and tok_msg is None
    assert 'trust_remote_code=True' in pipe_msg                     # its pipeline cuts inputs at the run's max_length
    clf = load_adapted(run)
    model, tok = AutoModelForSequenceClassification.from_pretrained(run), AutoTokenizer.from_pretrained(run)
    texts = data.test['text'].tolist()
    enc = tok(texts, truncation=True, max_length=32, padding=True, return_tensors='pt')
    np.testing.assert_allclose(model(**enc).logits.softmax(-1).detach().numpy(), clf.predict_proba(texts), atol=1e-5)
    agree(run, texts)


def test_card_is_written_again_the_same(tiny_setup, data, tmp_path):
    """The card's numbers are metrics.json's; export_run writes it again byte for byte; a resume after a kill that came
    after the last save finishes the run with the same files."""
    run = tmp_path/'r'
    adapt(data, model=str(tiny_setup/'tiny'), pooling='mean', out_dir=run, **TINY)
    card, m = ModelCard((run/'README.md').read_text()), json.loads((run/'metrics.json').read_text())
    got = {(e.dataset_split, e.metric_type): e.metric_value for e in card.data.eval_results}
    assert got == {(s, t): m[s][k] for s in ('test', 'valid') for k, t in (('macro_f1', 'f1'), ('accuracy', 'accuracy'))}
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != 'model.safetensors'}
    (run/'README.md').unlink(); export_run(run)
    assert (run/'README.md').read_bytes() == before['README.md']
    stage = tmp_path/'.r.partial'                           # as a kill between the last save and the move leaves it
    shutil.copytree(run, stage)
    for f in stage.iterdir():
        if f.is_file() and f.name not in ('adapt_config.json', 'metrics.json', 'selection.json'): f.unlink()
    shutil.rmtree(run)
    adapt(data, model=str(tiny_setup/'tiny'), pooling='mean', out_dir=run, resume=True, **TINY)
    assert not stage.exists()
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != 'model.safetensors'} == before


FAMILIES = [('BertConfig', 'minilm', 'cls'), ('RobertaConfig', 'minilm', 'mean'), ('DebertaV2Config', 'minilm', 'mean'),
            ('DistilBertConfig', 'minilm', 'cls'), ('GPT2Config', 'smollm2', 'last'), ('LlamaConfig', 'smollm2', 'mean'),
            ('Qwen2Config', 'smollm2', 'last'), ('MistralConfig', 'smollm2', 'mean')]


@pytest.mark.parametrize('config,tokenizer,pooling', FAMILIES, ids=[f[0] for f in FAMILIES])
def test_every_family_reads_as_trained(config, tokenizer, pooling, tmp_path):
    "Tiny random encoders and decoders of several families: plain transformers with the saved code = load_classifier's."
    import torch, transformers
    from transformers import AutoConfig
    from adapt_nb.hub import run_model, write_model_view
    from adapt_nb.models import set_pooling
    tok = base_tokenizer(tokenizer)
    cfg = getattr(transformers, config)(vocab_size=len(tok), pad_token_id=tok.pad_token_id, **SIZES)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_config(cfg).eval()
    set_pooling(model, pooling)
    model.save_pretrained(tmp_path); write_model_view(tmp_path, 32)
    assert AutoConfig.from_pretrained(tmp_path, trust_remote_code=True).model_type == 'adapt_nb'
    enc = tok(TEST[:6], truncation=True, max_length=32, padding=True, return_tensors='pt')
    enc.pop('token_type_ids', None)
    want = model(**enc).logits
    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path, trust_remote_code=True).eval()
    torch.testing.assert_close(plain(**enc).logits, want, atol=1e-5, rtol=0)
    torch.testing.assert_close(run_model(tmp_path).eval()(**enc).logits, want, atol=1e-5, rtol=0)
