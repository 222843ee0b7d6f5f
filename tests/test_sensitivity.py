"Property tests of the sensitivity helpers against brute-force oracles (small random inputs)."
import itertools
import numpy as np, pandas as pd, torch
from torch import nn
from hypothesis import given, settings, strategies as st
from adapt_nb.sensitivity import (linear_sq_grad_norms, embedding_sq_grad_norms, generic_sq_grad_norms,
                                  index_of_dispersion, select_modules)

torch.set_num_threads(1)
dims = st.integers(1, 6)


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 4), T=st.integers(1, 9), din=dims, dout=dims, bias=st.booleans(), seed=st.integers(0, 10_000))
def test_linear_matches_autograd(B, T, din, dout, bias, seed):
    g = torch.Generator().manual_seed(seed)
    x, go = torch.randn(B, T, din, generator=g, dtype=torch.float64), torch.randn(B, T, dout, generator=g, dtype=torch.float64)
    want = []
    for i in range(B):
        lin = nn.Linear(din, dout, bias=bias).double()
        lin(x[i]).backward(go[i])
        want.append(sum(p.grad.pow(2).sum() for p in lin.parameters()).item())
    np.testing.assert_allclose(linear_sq_grad_norms(x, go, bias).numpy(), want, rtol=1e-5, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 8), V=st.integers(1, 5), pad=st.sampled_from([None, 0]), seed=st.integers(0, 10_000))
def test_embedding_matches_autograd(B, T, V, pad, seed):
    g = torch.Generator().manual_seed(seed)
    ids, go = torch.randint(0, V, (B, T), generator=g), torch.randn(B, T, 3, generator=g, dtype=torch.float64)
    want = []
    for i in range(B):
        emb = nn.Embedding(V, 3, padding_idx=pad).double()
        emb(ids[i]).backward(go[i])
        want.append(emb.weight.grad.pow(2).sum().item())
    np.testing.assert_allclose(embedding_sq_grad_norms(ids, go, pad).numpy(), want, rtol=1e-6, atol=1e-10)


def test_generic_rmsnorm_matches_autograd():
    torch.manual_seed(0)
    norm = nn.RMSNorm(5).double()
    with torch.no_grad(): norm.weight.uniform_(0.5, 2)
    x, go = torch.randn(4, 3, 5, dtype=torch.float64), torch.randn(4, 3, 5, dtype=torch.float64)
    want = []
    for i in range(4):
        norm.zero_grad(); norm(x[i]).backward(go[i]); want.append(norm.weight.grad.pow(2).sum().item())
    np.testing.assert_allclose(generic_sq_grad_norms(norm, x, go).numpy(), want, rtol=1e-8)


@given(st.lists(st.floats(0.01, 100), min_size=1, max_size=20))
def test_dispersion_definition(xs):
    xs = np.array(xs)
    np.testing.assert_allclose(index_of_dispersion(xs), np.var(xs) / np.mean(xs), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(index_of_dispersion(3 * xs), 3 * index_of_dispersion(xs), rtol=1e-9, atol=1e-12)  # scales with the output


def _table(sizes, scores, head_size, n_extra):
    "A fake score table: units u0.. with sizes and S, one head unit; `n_extra` unscored parameters elsewhere."
    t = pd.DataFrame(dict(name=[f'u{i}' for i in range(len(sizes))] + ['head'], n_params=list(sizes) + [head_size],
                          head=[False] * len(sizes) + [True], S=list(scores) + [0.0]))
    t['leaves'] = t['name'].map(lambda n: [n])
    t.attrs.update(n_total=int(t['n_params'].sum()) + n_extra, embedding='u0', embedding_dim=2, vocab=sizes[0] // 2)
    return t


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 7))
def test_selection_is_lexicographic_best(data, n):
    "Oracle: among all subsets that fit the budget, the one whose membership vector, read in decreasing S, is largest."
    sizes = data.draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    sizes[0] = 2 * max(1, sizes[0] // 2)  # u0 plays the input embedding (rows of width 2)
    scores = data.draw(st.lists(st.integers(0, 5).map(float), min_size=n, max_size=n))  # ties on purpose
    head, extra = data.draw(st.integers(1, 10)), data.draw(st.integers(0, 100))
    budget = data.draw(st.floats(0.05, 1.0))
    new = data.draw(st.lists(st.integers(0, sizes[0] // 2 - 1), max_size=3, unique=True)) if sizes[0] >= 2 else []
    t = _table(sizes, scores, head, extra)
    sel = select_modules(t, budget, new_token_ids=new) if head + 2 * len(new) <= budget * t.attrs['n_total'] \
        else None
    if sel is None: return
    order = sorted(range(n), key=lambda i: (-scores[i], i))
    cap, base = budget * t.attrs['n_total'], head + 2 * len(new)
    best = None
    for bits in itertools.product([1, 0], repeat=n):  # in decreasing lexicographic order: first feasible is the answer
        chosen = [order[k] for k in range(n) if bits[k]]
        used = base + sum(sizes[i] - (2 * len(new) if i == 0 else 0) for i in chosen)
        if used <= cap: best = chosen; break
    assert sel.modules == [f'u{i}' for i in best]
    assert sel.n_trainable == base + sum(sizes[i] - (2 * len(new) if i == 0 else 0) for i in best)
    assert sel.share <= budget + 1e-12
