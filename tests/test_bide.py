"Property tests of adapt_nb.bide that are too slow or too many for the notebook."
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from adapt_nb.bide import (mine_closed_sequences, brute_force_closed, supporting_sequences, PatternOverflowError,
                           closed_case, check_exact)

LARGER = dict(max_tokens=6, max_seqs=8, max_seq_len=10, max_len=7)


@pytest.mark.parametrize("gap", [None, 0, 1, 2, 3])
def test_exact_against_brute_force(gap):
    n, _ = check_exact(gap, 100, **LARGER)
    assert n == 100


@pytest.mark.parametrize("gap", [None, 1])
@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(c=closed_case(**LARGER), frac=st.floats(0.05, 1.0))
def test_topk_is_head_of_full(gap, c, frac):
    db, ms, mn, mx = c
    full = mine_closed_sequences(db, ms, mn, mx, max_gap=gap, progress=False)
    k = max(1, int(frac * len(full)))
    top = mine_closed_sequences(db, ms, mn, mx, max_gap=gap, max_patterns=k, on_overflow="topk", return_sids=True,
                                progress=False)
    assert [(r.items, r.support) for r in top] == [(r.items, r.support) for r in full[:k]]
    for r in top: assert r.sids.tolist() == supporting_sequences(db, r.items, gap).tolist()
    if len(full) > k:
        with pytest.raises(PatternOverflowError, match="max_patterns"):
            mine_closed_sequences(db, ms, mn, mx, max_gap=gap, max_patterns=k, progress=False)


def test_overflow_fails_fast():
    "Every non-empty proper subset of 22 tokens is closed (4M patterns): the guard stops after max_patterns."
    base = list(range(22))
    db = [base[:i] + base[i + 1:] for i in range(22)]
    with pytest.raises(PatternOverflowError):
        mine_closed_sequences(db, 1, 1, 22, max_patterns=10_000, progress=False)
    top = mine_closed_sequences(db, 1, 1, 22, max_patterns=50, on_overflow="topk", progress=False)
    assert [r.support for r in top] == [21] * 22 + [20] * 28
    assert top[0].items == (0,) and top[22].items == (0, 1)


def test_token_ids_any_int_type():
    db = [np.array([10**12, 5, 10**12], np.int64), np.array([5, 10**12], np.uint64), [5, 10**12, 7]]
    got = mine_closed_sequences(db, 2, 1, progress=False)
    assert {r.items: r.support for r in got} == brute_force_closed([list(map(int, s)) for s in db], 2, 1)


def test_prefixspan_superset_on_random_medium_dbs():
    "prefixspan reports every closed pattern with the same support (it may add non-closed ones)."
    from prefixspan import PrefixSpan
    rng = np.random.default_rng(0)
    for _ in range(20):
        db = [rng.integers(0, 6, rng.integers(3, 15)).tolist() for _ in range(25)]
        ps = PrefixSpan(db); ps.minlen, ps.maxlen = 2, 6
        theirs = {tuple(p): s for s, p in ps.frequent(4, closed=True)}
        ours = mine_closed_sequences(db, 4, 2, 6, progress=False)
        assert all(theirs.get(r.items) == r.support for r in ours)


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(c=closed_case(**LARGER))
def test_gap_wider_than_sequences_is_bide(c):
    "With max_gap at least the longest sequence, the gap-constrained definition is BIDE's."
    db, ms, mn, mx = c
    wide = mine_closed_sequences(db, ms, mn, mx, max_gap=max(map(len, db)), progress=False)
    assert wide == mine_closed_sequences(db, ms, mn, mx, progress=False)
