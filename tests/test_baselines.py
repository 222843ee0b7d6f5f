"Property tests of the budget arithmetic and the answer parser of `adapt_nb.baselines` (no model needed)."
import re, torch
from hypothesis import given, settings, strategies as st
from adapt_nb.layers import plan_layers
from adapt_nb.prompting import parse_label

def _layers(sizes):
    return [[(f'l{i}.p{j}', torch.empty(n)) for j, n in enumerate(layer)] for i, layer in enumerate(sizes)]

@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(1, 50), min_size=1, max_size=5), min_size=1, max_size=6), st.integers(0, 400))
def test_plan_layers_fills_without_overshoot(sizes, room):
    layers = _layers(sizes)
    chosen = plan_layers(layers, room)
    total = sum(p.numel() for _, p in chosen)
    assert total <= room
    names = [n for n, _ in chosen]
    assert len(set(names)) == len(names)
    # brute-force oracle of the rule: whole layers in order while they fit, then greedy tensors of the next one
    want, left = [], room
    for layer in layers:
        n = sum(p.numel() for _, p in layer)
        if n <= left: want += [k for k, _ in layer]; left -= n
        else:
            for k, p in layer:
                if p.numel() <= left: want.append(k); left -= p.numel()
            break
    assert names == want
    # nothing that still fits is left out of the partial layer
    full = [i for i, l in enumerate(layers) if all(k in names for k, _ in l)]
    if len(full) < len(layers):
        nxt = layers[len(full)]
        assert all(k in names or p.numel() > room - total for k, p in nxt)

LABELS = ['background', 'objective', 'methods', 'results', 'conclusions']
filler = st.text(alphabet=st.sampled_from(list('xyz .,:;!?()"\n')), max_size=20)

@settings(max_examples=300, deadline=None)
@given(filler, st.integers(0, 4), filler, st.booleans())
def test_parse_label_one_mention(pre, k, post, upper):
    word = LABELS[k].upper() if upper else LABELS[k]
    assert parse_label(f'{pre} {word} {post}', LABELS) == k

@settings(max_examples=200, deadline=None)
@given(filler, st.integers(0, 4), st.integers(0, 4), filler)
def test_parse_label_two_labels_is_ambiguous(pre, a, b, post):
    out = parse_label(f'{pre} {LABELS[a]} and {LABELS[b]} {post}', LABELS)
    assert out == (a if a == b else -1)

@given(filler)
def test_parse_label_no_label(text):
    assert parse_label(text, LABELS) == -1
