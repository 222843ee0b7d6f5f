"""The two task-token designs next to Alg. 2's insertion (issue 21): `attach='replace'` (the pieces replaced by the task
token, greedy leftmost-longest) and `share_position` (a task token at its first piece's position id).

Property tests (hypothesis) against the brute-force oracles of `05_tokenization` (`oracle_replace`,
`oracle_occurrences`); replacement and positions against the base tokenizer under truncation, pairs and padding;
save/load of the modes; insertion bit for bit as the tokenizer before these designs (commit 64be7aa) on RT texts; and a
tiny `adapt()` run with both settings that saves, reloads and predicts the same."""
import importlib.util, os, subprocess, sys, tempfile
from pathlib import Path
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np, pytest, torch
from hypothesis import given, settings, strategies as st
from transformers import AutoTokenizer
from adapt_nb.data import load_rotten_tomatoes
from adapt_nb.models import embedded_path
from adapt_nb.tokenization import TaskTokenizer, oracle_replace, oracle_occurrences

ROOT = Path(__file__).resolve().parents[1]
BEFORE = '64be7aad09c51602e1959fa59462e74d4c683dd3'      # the last commit of tokenization.py before these designs
ALPHABET = [1000, 1001, 1002, 1003]
WORDS = ["BRCA1", "cancer", "predisposition", "treatment", "gene", "risk", "with", "and", "[SEP]"]
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None)


@pytest.fixture(scope='module')
def bert():
    return AutoTokenizer.from_pretrained(str(embedded_path('minilm')[0]))


@pytest.fixture(scope='module')
def rt_texts():
    rt = load_rotten_tomatoes(seed=0)
    return rt.train.text.tolist()[:2000] + rt.test.text.tolist()[:1000]


def ids_of(tok, text): return tuple(tok(text, add_special_tokens=False)['input_ids'])

def phrases(bert): return [ids_of(bert, s) for s in ('BRCA1', 'cancer predisposition', 'cancer treatment',
                                                     'gene risk', 'risk with cancer treatment', 'and and')]

seqs_st = st.lists(st.lists(st.sampled_from(ALPHABET), min_size=2, max_size=4).map(tuple), min_size=1, max_size=6,
                   unique=True)
docs_st = st.lists(st.lists(st.sampled_from(ALPHABET + [102]), max_size=18), min_size=1, max_size=4)
texts_st = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(' '.join), min_size=1, max_size=5)


def by_segment(doc, oracle):
    "The oracle's (start, sequence, end) triples on each run between special tokens ([SEP], 102), in doc positions."
    out, a = [], 0
    for b in [i for i, x in enumerate(doc) if x == 102] + [len(doc)]:
        out += [(s + a, p, e + a) for s, p, e in oracle(doc[a:b])]; a = b + 1
    return out


def stream(doc, spans, base):
    "The replaced stream an oracle's spans give: each span's pieces -> its task id."
    out, i = [], 0
    for s, p, e in spans: out += doc[i:s] + [base + p]; i = e + 1
    return out + doc[i:]


@FAST
@given(seqs=seqs_st, docs=docs_st)
def test_replace_is_the_oracle(bert, seqs, docs):
    "Spans and replaced ids equal the brute-force greedy leftmost-longest reading, special tokens as barriers."
    t = TaskTokenizer(bert, seqs, attach='replace')
    want = [oracle_replace(d, seqs) for d in docs]
    assert t.occurrences(docs) == want
    assert t.insert_task_tokens(docs) == [stream(d, w, t.n_base) for d, w in zip(docs, want)]
    assert [t._pieces(r) for r in t.insert_task_tokens(docs)] == docs


@FAST
@given(seqs=seqs_st, docs=docs_st, gap=st.sampled_from([None, 0, 1, 2]))
def test_insert_is_the_oracle(bert, seqs, docs, gap):
    "Alg. 2's insertion (unchanged by the new designs) against the brute-force search over all embeddings."
    t = TaskTokenizer(bert, seqs, max_gap=gap)
    want = [by_segment(d, lambda x: oracle_occurrences(x, seqs, gap)) for d in docs]
    assert t.occurrences(docs) == want
    for d, w, got in zip(docs, want, t.insert_task_tokens(docs)):
        exp = []
        for i, tok in enumerate(d): exp += [t.n_base + p for (s, p, _) in w if s == i] + [tok]
        assert got == exp


def _positions_rule(t, ids):
    "Position ids as defined in 05_tokenization, computed from the ids alone."
    if t.attach == 'replace':
        n = np.array([len(t._pieces([i])) for i in ids]); return (np.cumsum(n) - n).tolist()
    orig = np.array([i < t.n_base for i in ids], dtype=np.int64)
    return (np.cumsum(orig) - orig).tolist()


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(texts=texts_st, pairs=st.booleans(), ml=st.sampled_from([None, 4, 6, 9, 13, 20]),
       strategy=st.sampled_from(['longest_first', 'only_first', 'only_second']),
       side=st.sampled_from(['right', 'left']), attach=st.sampled_from(['insert', 'replace']))
def test_originals_text_and_positions_against_the_base(bert, texts, pairs, ml, strategy, side, attach):
    """Truncation (either side, every strategy, pairs) and padding (either side): the originals are the base tokenizer's
    cut, replaced spans decode to the base text, positions follow the rule, padded rows are the unpadded ones."""
    import copy
    b = copy.deepcopy(bert); b.truncation_side = b.padding_side = side
    t = TaskTokenizer(b, phrases(bert), attach=attach, max_gap=0, share_position=True)
    args = (texts, texts[::-1]) if pairs else (texts,)
    kw = dict(truncation=strategy if pairs else True, max_length=ml) if ml else {}
    try: want = b(*args, **kw)
    except Exception: return                              # the base refuses (a strategy that cannot fit)
    got = t(*args, **kw, return_task_tokens_mask=True)
    for row, base_row, mask, pos in zip(got['input_ids'], want['input_ids'], got['task_tokens_mask'],
                                        got['position_ids']):
        assert mask == [int(i >= t.n_base) for i in row]
        if attach == 'replace':
            assert t._pieces(row) == base_row and len(row) <= len(base_row)
            assert t.decode(row) == b.decode(base_row)
        else: assert [i for i in row if i < t.n_base] == base_row
        assert pos == _positions_rule(t, row)
    if 'token_type_ids' in want and attach == 'replace':     # a task token takes its first piece's type
        for row, typ, base_typ in zip(got['input_ids'], got['token_type_ids'], want['token_type_ids']):
            exp, k = [], 0
            for i in row: exp.append(base_typ[k]); k += len(t._pieces([i]))
            assert typ == exp
    padded = t(*args, **kw, padding=True, return_tensors='np')
    for r, m, p, row, pos in zip(padded['input_ids'], padded['attention_mask'], padded['position_ids'],
                                 got['input_ids'], got['position_ids']):
        assert r[m == 1].tolist() == row and p[m == 1].tolist() == pos and not p[m == 0].any()


@pytest.mark.parametrize('attach,share', [('insert', False), ('insert', True), ('replace', False), ('replace', True)])
def test_save_load_round_trip(bert, rt_texts, attach, share):
    "Every mode survives save/load and encodes RT texts identically; the base tokenizer is restored too."
    t = TaskTokenizer(bert, phrases(bert), max_gap=0, attach=attach, share_position=share)
    texts = rt_texts[:300]
    with tempfile.TemporaryDirectory() as d:
        t.save_pretrained(d)
        back = TaskTokenizer.from_pretrained(d)
    assert (back.attach, back.share_position, back.max_gap, back.names) == (attach, share, 0, t.names)
    kw = dict(padding=True, truncation=True, max_length=40, return_tensors='np')
    a, b = t(texts, **kw), back(texts, **kw)
    assert set(a) == set(b) and all((a[k] == b[k]).all() for k in a)
    assert ('position_ids' in a) == share


def _tokenizer_before():
    "The tokenization module as committed before these designs, imported on its own (None without git)."
    try:
        code = subprocess.run(['git', 'show', f'{BEFORE}:adapt_nb/tokenization.py'], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError): return None
    d = Path(tempfile.mkdtemp())
    (d/'tokenization_before.py').write_text(code)
    spec = importlib.util.spec_from_file_location("adapt_nb.tokenization_before", d/"tokenization_before.py")
    mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize('gap', [0, 2, None])
def test_insert_bit_identical_to_before(bert, rt_texts, gap):
    "Insertion (the default) gives exactly what the tokenizer gave before the designs, on 3,000 RT texts, every column."
    import copy
    old = _tokenizer_before()
    if old is None: pytest.skip('no git history to compare with')
    assert not hasattr(old, '_find_longest') and hasattr(old.TaskTokenizer, '_insert')     # the code before, indeed
    from adapt_nb.sequences import select_task_sequences
    sel = select_task_sequences(bert, rt_texts[:2000], max_gap=gap, max_length=64)
    for side in ('right', 'left'):
        b = copy.deepcopy(bert); b.truncation_side = b.padding_side = side
        new_t, old_t = TaskTokenizer(b, sel), old.TaskTokenizer(b, sel)
        for args, kw in [((rt_texts,), {}), ((rt_texts,), dict(padding=True, truncation=True, max_length=48,
                                                                  return_tensors='np', return_task_tokens_mask=True)),
                         ((rt_texts[:500], rt_texts[500:1000]), dict(truncation='longest_first', max_length=40))]:
            a, o = new_t(*args, **kw), old_t(*args, **kw)
            assert list(a) == list(o)
            for k in o: assert (np.array_equal(a[k], o[k]) if kw.get('return_tensors') else a[k] == o[k]), (side, k)
        assert new_t.occurrences(b(rt_texts[:300], add_special_tokens=False)['input_ids']) == \
            old_t.occurrences(b(rt_texts[:300], add_special_tokens=False)['input_ids'])


def test_adapt_with_replace_and_shared_positions(tmp_path):
    "A tiny adapt() run with both designs saves them, reloads them and predicts the same; the model gets the positions."
    from adapt_nb.pipeline import adapt
    from adapt_nb.runs import load_adapted
    torch.set_num_threads(1)
    task = load_rotten_tomatoes(seed=0)
    r = adapt(task, n_train=96, n_eval=48, epochs=1, min_steps=0, bs=16, task_tokens=True, min_support=3,
              max_tokens=50, attach='replace', share_position=True, progress=False, out_dir=tmp_path/'run')
    assert (r.tokenizer.attach, r.tokenizer.share_position) == ('replace', True)
    back = load_adapted(tmp_path/'run')
    assert (back.tokenizer.attach, back.tokenizer.share_position) == ('replace', True)
    texts = task.test.text.tolist()[:64]
    assert np.array_equal(r.classifier.logits(texts), back.logits(texts))
    assert r.classifier.predict(texts) == back.predict(texts)
    seen = []
    hook = back.model.base_model.embeddings.register_forward_pre_hook(
        lambda m, a, k: seen.append(k.get('position_ids')), with_kwargs=True)
    back.predict(texts[:8]); hook.remove()
    enc = back.tokenizer(texts[:8], truncation=True, max_length=back.max_length)
    assert seen[0] is not None and any(p != list(range(len(p))) for p in enc['position_ids'])
