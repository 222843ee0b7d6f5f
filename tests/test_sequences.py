"""Property tests of adapt_nb.sequences (Alg. 1) that are too many for the notebook: the window statistic and the
score against brute force, the cut that matches the model's tokenizer, and no special or unknown token in patterns."""
import math, os
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
from collections import Counter
import pytest
from hypothesis import given, settings, strategies as st
from transformers import AutoTokenizer
from adapt_nb.models import embedded_path
from adapt_nb.config import PAPER_ALG1
from adapt_nb.sequences import (count_ngrams, count_pairs, pplu_many, tokenize_corpus, text_segments,
                                select_task_sequences)

corpus = st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=14), min_size=1, max_size=6)
gaps = st.sampled_from([0, 1, 2, 4, None])


def window_counts(db, g):
    "ct_g of every pair of positions: the obviously correct count."
    c = Counter()
    for s in db:
        for i in range(len(s)):
            for q in range(i + 1, len(s) if g is None else min(len(s), i + g + 2)): c[(s[i], s[q])] += 1
    return c


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(db=corpus, g=gaps, seqs=st.lists(st.lists(st.integers(0, 5), min_size=2, max_size=5), min_size=1,
                                         max_size=8))
def test_window_score_against_brute_force(db, g, seqs):
    ref, uni = window_counts(db, g), Counter(t for s in db for t in s)
    N = sum(uni.values())
    w = g + 1 if g is not None else sum(len(s) * (len(s) - 1) / 2 for s in db) / N
    pc = count_pairs(db, [(u, v) for s in seqs for u, v in zip(s[:-1], s[1:])], g, 6)
    for s, got in zip(seqs, pplu_many(seqs, count_ngrams(db, 6), pc)):
        links = list(zip(s[:-1], s[1:]))
        if any(ref[l] == 0 for l in links): assert got == math.inf; continue
        lr = sum(math.log(ref[(u, v)] / uni[u] / (w * uni[v] / N)) for u, v in links)
        assert got == pytest.approx(math.exp(-lr / len(s)), rel=1e-9)


def tokenizers():
    d, g = embedded_path('smollm2')
    return {'wordpiece': AutoTokenizer.from_pretrained(str(embedded_path('minilm')[0])),
            'bytelevel_bpe': AutoTokenizer.from_pretrained(str(d), gguf_file=g)}


TEXTS = ["a short one", "this is a much longer sentence with many more words in it than the others",
         "中文文本 with 🎉 emoji and العربية text", "[SEP] written in the text [CLS] too",
         "שלום עולם and more"]


@pytest.mark.parametrize('side', ['right', 'left'])
def test_mining_cut_is_the_models_cut(side):
    "tokenize_corpus(max_length) keeps exactly the text tokens the tokenizer keeps at that max_length."
    for name, tok in tokenizers().items():
        tok.truncation_side = side
        n_sp = tok.num_special_tokens_to_add(pair=False)
        for ml in (n_sp + 1, 6, 9, 40):
            if ml < 4: continue
            got = [d.tolist() for d in tokenize_corpus(tok, TEXTS, max_length=ml)]
            full = tok(TEXTS, truncation=True, max_length=ml)['input_ids']
            want = [tok(t, add_special_tokens=False)['input_ids'] for t in TEXTS]
            for g, f, w in zip(got, full, want):
                assert len(g) == min(len(w), ml - n_sp), (name, ml)
                assert all(x in f for x in g), (name, ml)


@pytest.mark.parametrize('kw', [{}, {'max_gap': 2}, PAPER_ALG1])
def test_no_special_or_unknown_token_in_patterns(kw):
    "Special tokens written in texts and [UNK] (emoji, rare scripts) never enter a pattern or a statistic."
    tok = tokenizers()['wordpiece']
    texts = ["great fun 🎉 [SEP] great fun 中文 🍿 great fun"] * 6 + ["[CLS] great fun [SEP] 🎉 🎉"] * 6
    bad = set(tok.all_special_ids)
    segs, _ = text_segments(tokenize_corpus(tok, texts), bad)
    assert not any(bad & set(s.tolist()) for s in segs)
    counts = count_ngrams(segs, len(tok))
    assert all(counts.ct(i) == 0 for i in bad)
    sel = select_task_sequences(tok, texts, min_support=5, **{'max_share': None, 'count_rule': 'cap', **kw})
    assert len(sel) > 0 and not any(bad & set(s.items) for s in sel.sequences)
