"""Philox4x32-10: Random123's known-answer vectors, for the C++ bijection and the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import reference as R
import weightinit

DATA = Path(__file__).resolve().parent / "data"


def _kat(rounds=None):
    rows = []
    for line in (DATA / "philox4x32_10_kat.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, r, *hexwords = line.split()
        assert name == "philox4x32" and len(hexwords) == 10, line
        words = [int(h, 16) for h in hexwords]
        if rounds is None or int(r) == rounds:
            rows.append((int(r), tuple(words[:4]), tuple(words[4:6]), tuple(words[6:])))
    return rows


KAT10 = _kat(10)
KAT_ALL = _kat()


def test_kat_file_has_the_three_published_10_round_vectors():
    assert len(KAT10) == 3
    assert {row[1] for row in KAT10} == {
        (0, 0, 0, 0),
        (0xFFFFFFFF,) * 4,
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
    }


@pytest.mark.parametrize("rounds,ctr,key,expected", KAT10)
def test_core_philox4x32_kat(rounds, ctr, key, expected):
    got = weightinit.philox4x32(ctr, key)
    assert tuple(int(v) for v in got) == expected


@pytest.mark.parametrize("rounds,ctr,key,expected", KAT_ALL)
def test_reference_philox4x32_kat(rounds, ctr, key, expected):
    assert R.philox4x32(ctr, key, rounds=rounds) == expected


@pytest.mark.parametrize("rounds,ctr,key,expected", KAT10)
def test_core_extension_philox4x32_kat(rounds, ctr, key, expected):
    from weightinit import _core

    assert tuple(int(v) for v in _core.philox4x32(list(ctr), list(key))) == expected


def test_core_philox_matches_reference_on_random_inputs():
    rng = np.random.default_rng(20240601)
    ctrs = rng.integers(0, 2**32, size=(200, 4), dtype=np.uint64)
    keys = rng.integers(0, 2**32, size=(200, 2), dtype=np.uint64)
    ref = R.philox4x32_blocks(*ctrs.T, *keys[0])  # one key for the vectorized call
    for i in range(200):
        ctr = tuple(int(c) for c in ctrs[i])
        key0 = tuple(int(k) for k in keys[0])
        assert tuple(weightinit.philox4x32(ctr, key0)) == tuple(int(r[i]) for r in ref)
        key = tuple(int(k) for k in keys[i])
        assert tuple(weightinit.philox4x32(ctr, key)) == R.philox4x32(ctr, key)


def test_reference_is_a_bijection_sample():
    # distinct counters give distinct outputs (a bijection); a sanity check of the vectorization
    c = np.arange(100_000, dtype=np.uint64)
    x = R.philox4x32_blocks(c, 0, 0, 0, 1, 2)
    packed = x[0] | (x[1] << np.uint64(32))
    assert np.unique(packed).size == c.size


def test_stream_words_are_philox_blocks():
    """Words 4j..4j+3 of stream s under seed k are philox4x32((lo j, hi j, lo s, hi s), (lo k, hi k))."""
    seed, stream = 0x0123456789ABCDEF, 0xFEDCBA9876543210
    x = np.empty(8, dtype=np.uint32)
    j0 = 2**32 - 1  # block 2**32 - 1 and 2**32: c1 goes from 0 to 1
    weightinit.random_bits_(x, seed=seed, stream=stream, offset=4 * j0)
    key = (seed & R.MASK32, seed >> 32)
    expected = []
    for j in (j0, j0 + 1):
        expected += weightinit.philox4x32((j & R.MASK32, j >> 32, stream & R.MASK32, stream >> 32), key)
    assert [int(v) for v in x] == [int(v) for v in expected]
    assert [int(v) for v in x] == [int(v) for v in R.words(seed, stream, 4 * j0, 8)]


@pytest.mark.parametrize("bad_ctr", [(0, 0, 0), (0, 0, 0, 0, 0), (2**32, 0, 0, 0), (-1, 0, 0, 0)])
def test_core_philox4x32_rejects_bad_counter(bad_ctr):
    with pytest.raises((TypeError, ValueError)):
        weightinit.philox4x32(bad_ctr, (0, 0))


@pytest.mark.parametrize("bad_key", [(0,), (0, 0, 0), (2**32, 0), (0, -1)])
def test_core_philox4x32_rejects_bad_key(bad_key):
    with pytest.raises((TypeError, ValueError)):
        weightinit.philox4x32((0, 0, 0, 0), bad_key)
