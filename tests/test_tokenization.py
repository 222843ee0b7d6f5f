"""TaskTokenizer on the three tokenizer families of issue 4: WordPiece (MiniLM), byte-level BPE (SmolLM2, leading-space
marker `Ġ`) and SentencePiece (a Unigram/Metaspace model trained here on RT text, marker `▁`).

Each family: task sequences selected from real RT snippets, then (a) the original tokens are all kept, in order,
(b) the insertions equal a brute-force search over all embeddings, for contiguous and unbounded gaps, and replacing
(`attach='replace'`) equals its greedy leftmost-longest oracle and restores the base ids and text, (c) readable
names, (d) decode, (e) padding/tensors, (f) save/load round trip, (g) a tiny decoder with the new embedding rows."""
import os, tempfile
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
from collections import Counter
import pytest, torch
from transformers import AutoTokenizer, PreTrainedTokenizerFast, LlamaConfig, LlamaForCausalLM
from adapt_nb.data import load_rotten_tomatoes
from adapt_nb.models import embedded_path
from adapt_nb.sequences import tokenize_corpus, count_ngrams, select_sequences, compute_pplu
from adapt_nb.tokenization import TaskTokenizer, resize_token_embeddings, oracle_occurrences, oracle_replace


@pytest.fixture(scope='module')
def texts():
    return load_rotten_tomatoes(seed=0).train.text.tolist()[:600]


def minilm():
    return AutoTokenizer.from_pretrained(str(embedded_path('minilm')[0]))


def smollm2():
    d, g = embedded_path('smollm2')
    return AutoTokenizer.from_pretrained(str(d), gguf_file=g)


def sentencepiece(texts):
    from tokenizers import SentencePieceUnigramTokenizer
    from tokenizers.processors import TemplateProcessing
    sp = SentencePieceUnigramTokenizer()
    sp.train_from_iterator(texts, vocab_size=1500, special_tokens=['<unk>', '<pad>', '<s>', '</s>'], unk_token='<unk>',
                           show_progress=False)
    backend = sp._tokenizer
    ids = [(t, backend.token_to_id(t)) for t in ('<s>', '</s>')]
    backend.post_processor = TemplateProcessing(single='<s> $A </s>', pair='<s> $A </s> $B:1 </s>:1',
                                                special_tokens=ids)
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token='<unk>', pad_token='<pad>', bos_token='<s>',
                                   eos_token='</s>')


def ngram_patterns(db, n_min=2, n_max=4, min_support=3):
    "Contiguous n-grams with their document support: a miner-independent candidate set."
    sup = Counter()
    for d in db:
        d = d.tolist()
        sup.update({tuple(d[i:i + n]) for n in range(n_min, n_max + 1) for i in range(len(d) - n + 1)})
    return [(p, s) for p, s in sup.items() if s >= min_support]


@pytest.mark.parametrize('family', ['wordpiece', 'bytelevel_bpe', 'sentencepiece'])
def test_task_tokenizer_families(family, texts):
    tok = {'wordpiece': minilm, 'bytelevel_bpe': smollm2, 'sentencepiece': lambda: sentencepiece(texts)}[family]()
    db = tokenize_corpus(tok, texts)
    counts = count_ngrams(db, len(tok))
    sel = select_sequences(ngram_patterns(db), counts, max_tokens=40, vocab_size=len(tok))
    assert 0 < len(sel) <= 40
    assert all(s.pplx == pytest.approx(compute_pplu(s.items, counts)) for s in sel.sequences)
    sample = texts[:150]
    base = tok(sample)['input_ids']
    seqs = [s.items for s in sel.sequences]
    for g in (0, None):
        tt = TaskTokenizer(tok, sel, max_gap=g)
        got = tt(sample)['input_ids']
        special = set(tok.all_special_ids)
        n_added = 0
        for b, row in zip(base, got):
            assert [i for i in row if i < tt.n_base] == b                       # originals kept, in order
            content = [i for i in b if i not in special]
            want = [(i, p) for i, p, _ in oracle_occurrences(content, seqs, g)]
            exp = []                                                             # expected stream from the oracle
            for i, t in enumerate(content): exp += [tt.n_base + p for s, p in want if s == i] + [t]
            assert [i for i in row if i not in special] == exp
            n_added += len(want)
        assert n_added > 0
    # replacing (contiguous n-grams): the oracle's spans, the base tokenizer's ids and text once the pieces are restored
    tr = TaskTokenizer(tok, sel, max_gap=0, attach='replace')
    rows = tr(sample)['input_ids']
    assert [tr._pieces(r) for r in rows] == base
    assert [tr.decode(r) for r in rows[:20]] == [tok.decode(b) for b in base[:20]]
    content = [[i for i in b if i not in special] for b in base]
    assert tr.occurrences(content) == [oracle_replace(c, seqs) for c in content]
    assert sum(len(b) - len(r) for b, r in zip(base, rows)) > 0
    # readable names: no leading-space marker, decodable
    assert not any(n.startswith(('[[Ġ', '[[▁')) for n in tt.names)
    row = got[0]
    assert tt.decode(row, skip_task_tokens=True) == tok.decode(base[0])
    assert all(t in tt.names for t, i in zip(tt.convert_ids_to_tokens(row), row) if i >= tt.n_base)
    # padding and tensors
    enc = tt(sample[:8], padding=True, truncation=True, max_length=32, return_tensors='pt')
    assert enc['input_ids'].shape[0] == 8 and enc['input_ids'].shape[1] <= 32
    assert (enc['attention_mask'].sum(1) == torch.tensor([min(len(r), 32) for r in got[:8]])).all()
    # save / load round trip
    with tempfile.TemporaryDirectory() as d:
        tt.save_pretrained(d)
        tt2 = TaskTokenizer.from_pretrained(d)
        assert tt2.names == tt.names and tt2.max_gap == tt.max_gap
        assert tt2(sample, padding=True)['input_ids'] == tt(sample, padding=True)['input_ids']
    # a tiny decoder with tied embeddings takes the task ids
    torch.manual_seed(0)
    m = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True))
    resize_token_embeddings(m, tt)
    with torch.no_grad():
        out = m(input_ids=enc['input_ids'], attention_mask=enc['attention_mask'])
    assert out.logits.shape[-1] == len(tt)


def test_bytelevel_leading_space():
    """With byte-level BPE a word mid-sentence (`Ġcancer`) and at the start (`cancer`) are different tokens: a sequence
    mined mid-sentence matches mid-sentence only."""
    tok = smollm2()
    seq = tuple(tok(' cancer predisposition', add_special_tokens=False)['input_ids'])
    tt = TaskTokenizer(tok, [seq], max_gap=0)
    assert tt.names == ['[[cancer predisposition]]']
    mid = tt('Gene BRCA1 indicates cancer predisposition')['input_ids']
    start = tt('cancer predisposition is inherited')['input_ids']
    assert mid.count(tt.n_base) == 1 and start.count(tt.n_base) == 0
