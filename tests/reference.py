"""Pure-NumPy reference of weightinit's stream format v1 (the spec in code).

Everything here follows /work/shared/DESIGN.md ("Stream format v1") and the exact numerics of the
internal API plan, and nothing here imports weightinit: the C++ core is tested *against* this file.

Conventions
-----------
* ``seed`` is the Philox key (an int in [0, 2**64)): k0 = low 32 bits, k1 = high 32 bits.
* ``stream`` is an int in [0, 2**64) or a str (mapped by :func:`stream_id`).
* Block ``j`` of a stream is Philox4x32-10 applied to the counter
  (lo32 j, hi32 j, lo32 stream, hi32 stream); it yields words 4j..4j+3.
* Every value function takes ``(seed, stream, offset, n)`` and returns the ``n`` values of
  elements ``offset .. offset + n - 1`` of the (unshifted) stream, so huge offsets cost nothing.

Exact (bit-for-bit) functions: :func:`words`, :func:`bits`, :func:`uniform` (float32/float64,
any [lo, hi)) and their 16-bit roundings.  Transcendental functions (:func:`normal`,
:func:`trunc_normal`) return the float64 reference value computed with libm (NumPy) and
scipy.special.ndtr / ndtri from the same uniforms the C++ uses; compare them with
:func:`tolerance`.
"""

from __future__ import annotations

import hashlib
import math

import ml_dtypes
import numpy as np
from scipy import special

__all__ = [
    "MASK32",
    "MASK64",
    "bfloat16",
    "assert_matches",
    "bits",
    "expected",
    "half_ulp",
    "normal",
    "normal_z",
    "philox4x32",
    "philox4x32_blocks",
    "round_to",
    "stream_id",
    "tolerance",
    "trunc_normal",
    "uniform",
    "uniform01_bits",
    "words",
]

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF

# Philox4x32 constants (Random123, philox.h)
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9  # golden ratio
PHILOX_W1 = 0xBB67AE85  # sqrt(3) - 1

bfloat16 = np.dtype(ml_dtypes.bfloat16)

#: relative tolerance of transcendental results, DESIGN.md "Exactness"
TOL = {np.dtype(np.float32): 4e-6, np.dtype(np.float64): 1e-12}


# --------------------------------------------------------------------------------------------
# Philox4x32-10
# --------------------------------------------------------------------------------------------


def philox4x32_blocks(c0, c1, c2, c3, k0: int, k1: int, rounds: int = 10):
    """Vectorized Philox4x32-R.

    ``c0..c3`` are arrays (or scalars) of 32-bit counter words, ``k0, k1`` the two key words.
    Returns four uint64 arrays holding the 32-bit output words x0..x3.

    One round (Random123 ``_philox4x32round``)::

        hi0:lo0 = M0 * c0      hi1:lo1 = M1 * c2          (32x32 -> 64-bit products)
        c = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)

    and between rounds the key is bumped by the Weyl constants (k0 += W0, k1 += W1 mod 2**32).
    """
    m0, m1, mask = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1), np.uint64(MASK32)
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in (c0, c1, c2, c3))
    k0, k1 = int(k0) & MASK32, int(k1) & MASK32
    for r in range(rounds):
        if r:
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        p0 = c0 * m0  # < 2**64: no overflow in uint64
        p1 = c2 * m1
        hi0, lo0 = p0 >> np.uint64(32), p0 & mask
        hi1, lo1 = p1 >> np.uint64(32), p1 & mask
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
    return c0, c1, c2, c3


def philox4x32(counter, key, rounds: int = 10) -> tuple[int, int, int, int]:
    """Scalar Philox4x32-R: ``counter`` 4 ints, ``key`` 2 ints -> 4 ints (like the C++ binding)."""
    out = philox4x32_blocks(*counter, *key, rounds=rounds)
    return tuple(int(x) for x in out)


# --------------------------------------------------------------------------------------------
# Stream ids and words
# --------------------------------------------------------------------------------------------


def stream_id(name) -> int:
    """Stream id: ints pass through (must be in [0, 2**64)); str -> blake2b-64, little endian."""
    if isinstance(name, str):
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(digest, "little")
    name = int(name)
    if not 0 <= name <= MASK64:
        raise ValueError("stream id out of [0, 2**64)")
    return name


def _key(seed: int) -> tuple[int, int]:
    seed = int(seed)
    if not 0 <= seed <= MASK64:
        raise ValueError("seed out of [0, 2**64)")
    return seed & MASK32, seed >> 32


def _blocks(seed: int, stream, j0: int, nblocks: int) -> np.ndarray:
    """Blocks j0 .. j0+nblocks-1 of the stream as an (nblocks, 4) uint32 array."""
    k0, k1 = _key(seed)
    s = stream_id(stream)
    if nblocks == 0:
        return np.zeros((0, 4), dtype=np.uint32)
    if not (0 <= j0 and j0 + nblocks - 1 <= MASK64):
        raise ValueError("block index out of [0, 2**64)")
    j = np.uint64(j0) + np.arange(nblocks, dtype=np.uint64)
    c0 = j & np.uint64(MASK32)
    c1 = j >> np.uint64(32)
    c2 = np.full(nblocks, s & MASK32, dtype=np.uint64)
    c3 = np.full(nblocks, s >> 32, dtype=np.uint64)
    x = philox4x32_blocks(c0, c1, c2, c3, k0, k1)
    return np.stack(x, axis=1).astype(np.uint32)


def words(seed: int, stream, start: int, n: int) -> np.ndarray:
    """Words ``start .. start+n-1`` of the stream (uint32); word k is x_(k mod 4) of block k // 4."""
    start, n = int(start), int(n)
    if n < 0 or start < 0:
        raise ValueError("negative start or n")
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    j0, j1 = start // 4, (start + n - 1) // 4
    flat = _blocks(seed, stream, j0, j1 - j0 + 1).reshape(-1)
    first = start - 4 * j0
    return flat[first : first + n]


# --------------------------------------------------------------------------------------------
# Words -> values
# --------------------------------------------------------------------------------------------


def bits(seed: int, stream, offset: int, n: int) -> np.ndarray:
    """uint32 bits: element i is w_i."""
    return words(seed, stream, offset, n)


def _u64_words(seed, stream, first_pair: int, npairs: int) -> np.ndarray:
    """x_k = w_2k + 2**32 w_2k+1 for k = first_pair .. first_pair+npairs-1 (uint64)."""
    w = words(seed, stream, 2 * first_pair, 2 * npairs).astype(np.uint64)
    return w[0::2] | (w[1::2] << np.uint64(32))


def uniform01_bits(seed: int, stream, offset: int, n: int, dtype) -> np.ndarray:
    """The integer mantissa k of element i's U[0,1) value u = k * 2**-24 (float32) or 2**-53 (float64).

    float32 (and the 16-bit dtypes): k = w_i >> 8.
    float64: k = x >> 11, x = w_2i + 2**32 w_2i+1.
    """
    dtype = np.dtype(dtype)
    if dtype.itemsize == 8:
        return _u64_words(seed, stream, offset, n) >> np.uint64(11)
    return (words(seed, stream, offset, n) >> np.uint32(8)).astype(np.uint64)


def _compute_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return np.dtype(np.float64)
    if dtype in (np.dtype(np.float32), np.dtype(np.float16), bfloat16):
        return np.dtype(np.float32)
    raise TypeError(f"unsupported dtype {dtype}")


def round_to(values: np.ndarray, dtype) -> np.ndarray:
    """Round float32 values to float16 / bfloat16 (nearest even); identity for float32/float64."""
    dtype = np.dtype(dtype)
    return np.asarray(values).astype(dtype)


def uniform(seed: int, stream, offset: int, n: int, lo: float = 0.0, hi: float = 1.0,
            dtype="float32") -> np.ndarray:
    """U[lo, hi), bit exact, returned in ``dtype``.

    float32: u = (w >> 8) * 2**-24; v = f32(lo) + f32(hi - lo) * u, float32 arithmetic, two
    roundings (f32(hi - lo) is the float64 difference rounded to float32).
    float64: u = (x >> 11) * 2**-53; v = lo + (hi - lo) * u in float64.
    float16 / bfloat16: the float32 value rounded to nearest even.
    """
    dtype = np.dtype(dtype)
    cdt = _compute_dtype(dtype)
    k = uniform01_bits(seed, stream, offset, n, cdt)
    if cdt == np.float32:
        u = k.astype(np.float32) * np.float32(2.0**-24)  # exact
        lo32 = np.float32(lo)
        d32 = np.float32(np.float64(hi) - np.float64(lo))
        with np.errstate(over="ignore"):
            v = lo32 + d32 * u  # NumPy evaluates this as two separately rounded float32 ops
        return round_to(v.astype(np.float32), dtype)
    u = k.astype(np.float64) * 2.0**-53  # exact
    return np.float64(lo) + (np.float64(hi) - np.float64(lo)) * u


def normal_z(seed: int, stream, offset: int, n: int, dtype="float32") -> np.ndarray:
    """Standard normal z of elements offset..offset+n-1, float64 (Box-Muller, libm in float64).

    float32 (and 16-bit): pair p = i // 2 uses w_2p, w_2p+1:
        u1 = ((w_2p >> 8) + 1) * 2**-24 in (0, 1], u2 = (w_2p+1 >> 8) * 2**-24
    float64: pair p uses w_4p..w_4p+3:
        u1 = ((x_2p >> 11) + 1) * 2**-53 in (0, 1], u2 = (x_2p+1 >> 11) * 2**-53
    r = sqrt(-2 ln u1); element 2p = r cos(2 pi u2), element 2p+1 = r sin(2 pi u2).
    """
    cdt = _compute_dtype(dtype)
    offset, n = int(offset), int(n)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    p0, p1 = offset // 2, (offset + n - 1) // 2
    npairs = p1 - p0 + 1
    if cdt == np.float32:
        w = words(seed, stream, 2 * p0, 2 * npairs)
        k1 = (w[0::2] >> np.uint32(8)).astype(np.float64)
        k2 = (w[1::2] >> np.uint32(8)).astype(np.float64)
        u1 = (k1 + 1.0) * 2.0**-24
        u2 = k2 * 2.0**-24
    else:
        x = _u64_words(seed, stream, 2 * p0, 2 * npairs)
        k1 = (x[0::2] >> np.uint64(11)).astype(np.float64)  # < 2**53: exact conversion
        k2 = (x[1::2] >> np.uint64(11)).astype(np.float64)
        u1 = (k1 + 1.0) * 2.0**-53
        u2 = k2 * 2.0**-53
    r = np.sqrt(-2.0 * np.log(u1))
    theta = 2.0 * np.pi * u2
    z = np.empty(2 * npairs, dtype=np.float64)
    z[0::2] = r * np.cos(theta)
    z[1::2] = r * np.sin(theta)
    first = offset - 2 * p0
    return z[first : first + n]


def normal(seed: int, stream, offset: int, n: int, mean: float = 0.0, std: float = 1.0,
           dtype="float32") -> np.ndarray:
    """N(mean, std) reference values (float64): mean + std * z."""
    z = normal_z(seed, stream, offset, n, dtype)
    return np.float64(mean) + np.float64(std) * z


def trunc_normal_z(seed: int, stream, offset: int, n: int, mean: float = 0.0, std: float = 1.0,
                   a: float = -2.0, b: float = 2.0, dtype="float32") -> np.ndarray:
    """Standardized truncated-normal z (float64) by inversion; see :func:`trunc_normal`."""
    cdt = _compute_dtype(dtype)
    mean, std, a, b = (np.float64(t) for t in (mean, std, a, b))
    k = uniform01_bits(seed, stream, offset, n, cdt)
    if std == 0:
        return np.zeros(int(n), dtype=np.float64)
    nbits = 24 if cdt == np.float32 else 53
    top = np.uint64((1 << nbits) - 1)
    # u' = (k + 1/2) 2**-nbits, and 1 - u' = ((2**nbits - 1 - k) + 1/2) 2**-nbits computed on its
    # own so that q = 1 - p keeps full relative precision near u' = 1 (for nbits = 24 both are
    # exact in float64; for nbits = 53 they are the correctly rounded values, exact unless the
    # integer part is >= 2**52).
    u = (k.astype(np.float64) + 0.5) * 2.0**-nbits
    v = ((top - k).astype(np.float64) + 0.5) * 2.0**-nbits
    alpha, beta = (a - mean) / std, (b - mean) / std
    pa, pb = special.ndtr(alpha), special.ndtr(beta)
    qa, qb = special.ndtr(-alpha), special.ndtr(-beta)
    # p = Pa + u'(Pb - Pa); q = 1 - p = Qa + u'(Qb - Qa) = Qb + (1 - u')(Qa - Qb)
    p = pa + u * (pb - pa)
    q = qb + v * (qa - qb)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(p <= 0.5, special.ndtri(p), -special.ndtri(q))
    return np.clip(z, alpha, beta)


def trunc_normal(seed: int, stream, offset: int, n: int, mean: float = 0.0, std: float = 1.0,
                 a: float = -2.0, b: float = 2.0, dtype="float32") -> np.ndarray:
    """Truncated normal on the absolute interval [a, b] (torch semantics), float64 reference.

    alpha = (a - mean) / std, beta = (b - mean) / std; Pa, Pb = ndtr(alpha), ndtr(beta);
    Qa, Qb = ndtr(-alpha), ndtr(-beta); u' = ((w >> 8) + 1/2) 2**-24 (float32) or
    ((x >> 11) + 1/2) 2**-53 (float64); p = Pa + u'(Pb - Pa), q = Qa + u'(Qb - Qa);
    z = ndtri(p) if p <= 1/2 else -ndtri(q); z = clip(z, alpha, beta);
    value = clip(mean + std z, a, b).  std == 0: every value is clip(mean, a, b).
    """
    if np.float64(std) == 0:
        return np.full(int(n), np.clip(np.float64(mean), a, b), dtype=np.float64)
    z = trunc_normal_z(seed, stream, offset, n, mean, std, a, b, dtype)
    return np.clip(np.float64(mean) + np.float64(std) * z, a, b)


# --------------------------------------------------------------------------------------------
# Comparing C++ results with the float64 references
# --------------------------------------------------------------------------------------------


def tolerance(ref: np.ndarray, dtype, mean: float = 0.0, std: float = 1.0,
              strict: bool = False) -> np.ndarray:
    """Allowed |x - ref| for a transcendental result of ``dtype`` (float32/float64 value).

    DESIGN.md: |x - ref| <= tol * max(1, |ref|) (tol 4e-6 float32, 1e-12 float64).  That bound is
    stated for the standard distributions; for N(mean, std) the error of z is scaled by std and the
    final ``mean + std * z`` is rounded in the target precision, so the bound actually used is the
    larger of the DESIGN bound and tol * std * max(1, |z|) + 4 eps (|mean| + |std z|).
    ``strict=True`` drops the DESIGN term: only z's relative error scaled by std is allowed (for
    std < 1 that is much tighter than DESIGN's absolute 4e-6; a correct kernel meets it).
    """
    dtype = np.dtype(dtype)
    cdt = _compute_dtype(dtype)
    tol = TOL[cdt]
    eps = float(np.finfo(cdt).eps)
    ref = np.asarray(ref, dtype=np.float64)
    std = abs(float(std))
    design = np.zeros_like(ref) if strict else tol * np.maximum(1.0, np.abs(ref))
    if std == 0:
        return np.maximum(design, 4 * eps * abs(float(mean)))
    z = (ref - float(mean)) / std
    scaled = tol * std * np.maximum(1.0, np.abs(z)) + 4 * eps * (abs(float(mean)) + np.abs(ref - float(mean)))
    return np.maximum(design, scaled)


def half_ulp(values: np.ndarray, dtype) -> np.ndarray:
    """Half the spacing of ``dtype`` at |values| (for comparing rounded 16-bit results)."""
    dtype = np.dtype(dtype)
    v = np.abs(np.asarray(values, dtype=np.float64))
    if dtype == np.float16:
        mant, emin = 10, -14
    elif dtype == bfloat16:
        mant, emin = 7, -126
    elif dtype == np.float32:
        mant, emin = 23, -126
    else:
        mant, emin = 52, -1022
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.where(v > 0, v, 1.0)))
    e = np.maximum(e, emin)
    return np.ldexp(1.0, (e - mant - 1).astype(int))


def expected(kind: str, seed: int, stream, offset: int, n: int, dtype="float32", **params):
    """Reference values of a fill: exact values in ``dtype`` for bits/uniform, float64 otherwise."""
    if kind == "bits":
        return bits(seed, stream, offset, n)
    if kind == "uniform":
        return uniform(seed, stream, offset, n, params.get("a", 0.0), params.get("b", 1.0), dtype)
    if kind == "normal":
        return normal(seed, stream, offset, n, params.get("mean", 0.0), params.get("std", 1.0), dtype)
    if kind == "trunc_normal":
        return trunc_normal(seed, stream, offset, n, params.get("mean", 0.0), params.get("std", 1.0),
                            params.get("a", -2.0), params.get("b", 2.0), dtype)
    raise ValueError(f"unknown kind {kind!r}")


def assert_matches(x, kind: str, seed: int, stream, offset: int, dtype=None, strict: bool = True,
                   **params) -> None:
    """Assert that the flat C-order values of ``x`` are the reference values of a fill.

    bits / uniform: bit-identical.  normal / trunc_normal: within :func:`tolerance` of the float64
    reference (plus half an ulp of the 16-bit dtypes, which round the float32 value).
    By default (``strict=True``) the tolerance is on z scaled by std (see :func:`tolerance`);
    ``strict=False`` also accepts anything within DESIGN.md's literal bound.
    """
    x = np.asarray(x)
    dtype = np.dtype(dtype if dtype is not None else x.dtype)
    flat = x.reshape(-1)
    ref = expected(kind, seed, stream, offset, flat.size, dtype, **params)
    where = f"{kind} {dtype} seed={seed} stream={stream!r} offset={offset} n={flat.size} {params}"
    if kind in ("bits", "uniform"):
        ref = np.asarray(ref, dtype=dtype)
        got_bits = flat.view(f"u{dtype.itemsize}")
        ref_bits = ref.view(f"u{dtype.itemsize}")
        bad = np.flatnonzero(got_bits != ref_bits)
        if bad.size:
            i = int(bad[0])
            raise AssertionError(
                f"{where}: {bad.size} elements differ; first at element {i} (stream element "
                f"{offset + i}): got {flat[i]!r} (0x{int(got_bits[i]):x}), expected {ref[i]!r} "
                f"(0x{int(ref_bits[i]):x})")
        return
    mean = params.get("mean", 0.0)
    std = params.get("std", 1.0)
    got = flat.astype(np.float64)
    allowed = tolerance(ref, dtype, mean, std, strict=strict)
    if dtype.itemsize == 2:
        allowed = allowed + half_ulp(ref, dtype) * (1 + 2.0**-8)
    err = np.abs(got - ref)
    bad = np.flatnonzero(~(err <= allowed))
    if bad.size:
        i = int(bad[np.argmax(err[bad] / allowed[bad])])
        raise AssertionError(
            f"{where}: {bad.size} elements out of tolerance; worst at element {i} (stream "
            f"element {offset + i}): got {got[i]!r}, reference {ref[i]!r}, |diff| {err[i]:.3g} > "
            f"allowed {allowed[i]:.3g}")


def max_abs_normal_quantile(dtype) -> float:
    """|z| bound implied by the extreme uniforms u' in [2**-25, 1 - 2**-25] (float32) or 2**-54."""
    cdt = _compute_dtype(dtype)
    nbits = 24 if cdt == np.float32 else 53
    return float(-special.ndtri(2.0 ** -(nbits + 1)))


def _selfcheck() -> None:  # pragma: no cover - a quick manual smoke test
    assert philox4x32((0, 0, 0, 0), (0, 0)) == (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)
    assert math.isclose(max_abs_normal_quantile("float32"), 5.4, rel_tol=0.01)


if __name__ == "__main__":  # pragma: no cover
    _selfcheck()
    print("ok")
