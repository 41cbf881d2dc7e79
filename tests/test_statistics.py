"""Statistical checks on >= 10**6 values with fixed seeds (deterministic, so never flaky).

Kolmogorov-Smirnov against the exact distribution, mean and variance within 5 standard errors,
truncation bounds, and the "torch outlier" case: trunc_normal_ with a tiny std and wide absolute
bounds must never produce values beyond the quantile of the most extreme uniform the stream can
produce (torch's float32 inverse-CDF produced values at the bounds, i.e. 1000 std out).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

import reference as R
from conftest import fill, np_dtype

N = 10**6
N_TAIL = 10**7
KS_P_MIN = 1e-3  # fixed seeds: a correct generator passes deterministically at these seeds
EXTREMES = json.loads((Path(__file__).resolve().parent / "data" / "golden_v1.json")
                      .read_text())["extreme_words"]


def _sample(kind, dtype, n=N, seed=12345, stream="stats", **params):
    x = np.empty(n, dtype=np_dtype(dtype))
    fill(kind, x, seed=seed, stream=stream, **params)
    return x.astype(np.float64)


def _check_moments(x, mean, var, mu4):
    n = x.size
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt(max(mu4 - var**2, 0.0) / n)
    assert abs(x.mean() - mean) <= 5 * se_mean, (x.mean(), mean, se_mean)
    assert abs(x.var() - var) <= 5 * se_var, (x.var(), var, se_var)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("a,b", [(0.0, 1.0), (-0.125, 0.375), (-3.0, 5.0)])
def test_uniform_distribution(dtype, a, b):
    x = _sample("uniform", dtype, a=a, b=b)
    assert x.min() >= a
    if dtype == "float64":
        assert x.max() < b  # lo + (hi - lo) u is exactly below hi for these bounds
    else:
        assert x.max() <= b  # float32 rounding may reach hi
    assert stats.kstest(x, stats.uniform(loc=a, scale=b - a).cdf).pvalue > KS_P_MIN
    w = b - a
    _check_moments(x, (a + b) / 2, w * w / 12, w**4 / 80)


def test_uniform01_float32_is_on_the_2pow24_grid_and_below_one():
    x = _sample("uniform", "float32", a=0.0, b=1.0)
    assert x.max() < 1.0 and x.min() >= 0.0
    assert np.all(x * 2.0**24 == np.floor(x * 2.0**24))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (0.5, 0.02), (-3.0, 7.0)])
def test_normal_distribution(dtype, mean, std):
    x = _sample("normal", dtype, mean=mean, std=std)
    assert stats.kstest(x, stats.norm(loc=mean, scale=std).cdf).pvalue > KS_P_MIN
    _check_moments(x, mean, std**2, 3 * std**4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_pairs_are_uncorrelated(dtype):
    z = _sample("normal", dtype, seed=99)
    bound = 5 / math.sqrt(z.size // 2)
    assert abs(np.corrcoef(z[0::2], z[1::2])[0, 1]) <= bound  # cos / sin of one pair
    assert abs(np.corrcoef(z[1:-1:2], z[2::2])[0, 1]) <= bound  # across pairs


TRUNC_CASES = [
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 0.002, -2.0, 2.0),
    (1.0, 2.0, 0.0, 3.0),
    (0.0, 1.0, 2.5, 6.0),  # one-sided far tail
    (0.0, 1.0, -7.0, -4.0),  # the other tail, beyond float32's normal tails
    (0.3, 0.5, 0.2, 0.21),  # narrow interval
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mean,std,a,b", TRUNC_CASES)
def test_truncated_normal_distribution(dtype, mean, std, a, b):
    x = _sample("trunc_normal", dtype, mean=mean, std=std, a=a, b=b)
    lo, hi = (np.float32(a), np.float32(b)) if dtype == "float32" else (a, b)
    assert x.min() >= lo and x.max() <= hi
    alpha, beta = (a - mean) / std, (b - mean) / std
    dist = stats.truncnorm(alpha, beta, loc=mean, scale=std)
    assert stats.kstest(x, dist.cdf).pvalue > KS_P_MIN
    m, v, _, k = (float(t) for t in dist.stats(moments="mvsk"))
    _check_moments(x, m, v, (k + 3) * v * v)


def test_truncated_normal_std0002_uses_the_whole_bell():
    """std=0.002 on [-2, 2]: effectively untruncated N(0, 0.002**2)."""
    x = _sample("trunc_normal", "float32", mean=0.0, std=0.002, a=-2.0, b=2.0)
    assert stats.kstest(x, stats.norm(scale=0.002).cdf).pvalue > KS_P_MIN
    assert abs(x.std() - 0.002) < 5 * 0.002 * math.sqrt(0.5 / x.size)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
def test_torch_outlier_case_trunc_normal(dtype):
    """trunc_normal_(std=0.002, a=-2, b=2): no value beyond the extreme uniforms' quantile.

    Elements come from u' in [2**-25, 1 - 2**-25] (float32 path) or [2**-54, 1 - 2**-54] (float64),
    so |x| / std <= -ndtri(2**-25) ~= 5.42 (8.1 for float64), plus float rounding; a naive inverse
    CDF that rounds 1 - 2**-25 to 1 returns +inf -> clamped to b = 2.0, i.e. 1000 std.
    """
    std = 0.002
    x = np.empty(N_TAIL, dtype=np_dtype(dtype))
    fill("trunc_normal", x, seed=781, stream="outlier", mean=0.0, std=std, a=-2.0, b=2.0)
    if dtype != "float64":
        # this sample contains both extreme words: w >> 8 == 0xFFFFFF at element 1049797 (u' =
        # 1 - 2**-25, where a naive float32 u' rounds to 1) and w >> 8 == 0 at element 1650515
        w = np.empty(1, np.uint32)
        for index, k in ((1049797, 0xFFFFFF), (1650515, 0)):
            fill("bits", w, seed=781, stream="outlier", offset=index)
            assert int(w[0]) >> 8 == k
            assert abs(float(x[index])) > 5.4 * std * (1 - 2.0**-7)
    q = R.max_abs_normal_quantile(dtype)
    bound = std * q * (1 + 4e-6) * (1 + 2.0**-22)
    if np_dtype(dtype).itemsize == 2:
        bound *= 1 + 2.0**-8
    xf = x.astype(np.float64)
    worst = np.abs(xf).max()
    assert worst <= bound, f"max |x| = {worst!r} = {worst / std:.3f} std > {bound / std:.4f} std"
    # and the tails are really used: 10**7 draws reach beyond 4.5 std (P ~ 6.8e-6 per draw)
    assert worst > 4.5 * std


@pytest.mark.parametrize("ext", EXTREMES, ids=[f"{e['seed']}-{e['which']}" for e in EXTREMES])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_trunc_normal_at_the_extreme_words(ext, dtype):
    """Element i uses word i: at w >> 8 == 0xFFFFFF (u' = 1 - 2**-25) and 0 (u' = 2**-25)."""
    std = 0.002
    x = np.empty(5, dtype=np_dtype(dtype))
    offset = ext["index"] - 2
    fill("trunc_normal", x, seed=ext["seed"], stream=ext["stream"], offset=offset, mean=0.0,
         std=std, a=-2.0, b=2.0)
    R.assert_matches(x, "trunc_normal", ext["seed"], ext["stream"], offset, mean=0.0, std=std,
                     a=-2.0, b=2.0)
    q = float(-special.ndtri(2.0**-25))
    expected = q * std if ext["which"] == "max" else -q * std
    assert abs(float(x[2]) - expected) <= abs(expected) * 2.0**-7  # 16-bit rounding at most
    # the same words through the standard trunc_normal on [-10, 10]
    x = np.empty(5, dtype=np_dtype(dtype))
    fill("trunc_normal", x, seed=ext["seed"], stream=ext["stream"], offset=offset, mean=0.0,
         std=1.0, a=-10.0, b=10.0)
    R.assert_matches(x, "trunc_normal", ext["seed"], ext["stream"], offset, mean=0.0, std=1.0,
                     a=-10.0, b=10.0)


@pytest.mark.parametrize("ext", EXTREMES, ids=[f"{e['seed']}-{e['which']}" for e in EXTREMES])
@pytest.mark.parametrize("kind,dtype", [("uniform", "float32"), ("uniform", "bfloat16"),
                                        ("normal", "float32"), ("normal", "float16"),
                                        ("uniform", "float64"), ("normal", "float64")])
def test_other_kinds_around_the_extreme_words(ext, kind, dtype):
    """Windows around the extreme words: u = 1 - 2**-24, u1 = 2**-24 (r = 5.77) or u1 = 1 (r = 0)."""
    per = 2 if dtype == "float64" else 1
    offset = ext["index"] // per - 4
    x = np.empty(9, dtype=np_dtype(dtype))
    fill(kind, x, seed=ext["seed"], stream=ext["stream"], offset=offset)
    R.assert_matches(x, kind, ext["seed"], ext["stream"], offset)
    if kind == "uniform":
        x = np.empty(9, dtype=np_dtype(dtype))
        fill(kind, x, seed=ext["seed"], stream=ext["stream"], offset=offset, a=-1.0, b=3.0)
        assert (x.astype(np.float64) >= -1.0).all() and (x.astype(np.float64) <= 3.0).all()
        R.assert_matches(x, kind, ext["seed"], ext["stream"], offset, a=-1.0, b=3.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_tail_bound(dtype):
    """|z| <= sqrt(-2 ln u1_min): 5.77 (float32 words) and 8.57 (float64)."""
    x = np.empty(N_TAIL, dtype=np_dtype(dtype))
    fill("normal", x, seed=4242, stream="tails")
    nbits = 24 if dtype == "float32" else 53
    rmax = math.sqrt(-2 * math.log(2.0**-nbits))
    worst = float(np.abs(x).max())
    assert worst <= rmax * (1 + 4e-6)
    assert worst > 4.5  # 10**7 normals reach beyond 4.5 std (P(|z| > 4.5) ~ 6.8e-6 per draw)


def test_random_bits_are_balanced():
    w = np.empty(N, dtype=np.uint32)
    fill("bits", w, seed=1, stream="bits")
    ones = ((w[:, None] >> np.arange(32, dtype=np.uint32)) & 1).sum(axis=0)
    bound = 5 * math.sqrt(N * 0.25)
    assert np.all(np.abs(ones - N / 2) <= bound), ones
    # chi-square on the top byte
    counts = np.bincount(w >> 24, minlength=256)
    assert stats.chisquare(counts).pvalue > KS_P_MIN


@pytest.mark.parametrize("kw1,kw2", [
    ({"seed": 1, "stream": 0}, {"seed": 2, "stream": 0}),
    ({"seed": 1, "stream": 0}, {"seed": 1, "stream": 1}),
    ({"seed": 1, "stream": "layer.0"}, {"seed": 1, "stream": "layer.1"}),
    ({"seed": 2**32, "stream": 0}, {"seed": 1, "stream": 2**32}),
])
def test_neighbouring_seeds_and_streams_are_uncorrelated(kw1, kw2):
    x = _sample("normal", "float32", **kw1)
    y = _sample("normal", "float32", **kw2)
    assert not np.array_equal(x, y)
    assert abs(np.corrcoef(x, y)[0, 1]) <= 5 / math.sqrt(N)
    # the offset-shifted stream is not a shifted copy of the other stream
    assert abs(np.corrcoef(x[1:], y[:-1])[0, 1]) <= 5 / math.sqrt(N)
