// AVX2 + FMA kernels: Philox on 2 x 8 counters at once (two independent dependency chains),
// distributions on 8 float / 4 double lanes with the same templates as the portable path, then
// a transpose back to stream order. Compiled with -mavx2 -mfma -mf16c; selected at run time.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "kernels.hpp"
#include "philox.hpp"

namespace weightinit {
namespace {
using namespace lanes;
using namespace dist;

// Words of 8 consecutive blocks, structure of arrays: x[k] lane i = word k of block b0 + i.
struct Words8 {
  __m256i x[4];
};

// 32 x 32 -> 64 products of 8 lanes: lo by vpmulld, hi from the two vpmuludq halves. On Zen 3
// this beat the all-vpmuludq form (blend + shift for lo) by about 10%.
inline void mulhilo(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, m);                       // lanes 0, 2, 4, 6 as 64 bit
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
  lo = _mm256_mullo_epi32(a, m);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// One Philox round on kGroups independent groups of 8 blocks (independent chains hide latency).
constexpr int kGroups = 4;
// Unrolled, the state stays in registers (GCC -O3 does so anyway; rolled at -O2 it kept the
// state on the stack and ran 20% slower on Zen 3).
inline void round_all(Words8* w, __m256i k0, __m256i k1, __m256i m0, __m256i m1) {
#pragma GCC unroll 8
  for (int g = 0; g < kGroups; ++g) {
    __m256i h0, l0, h1, l1;
    mulhilo(w[g].x[0], m0, h0, l0);
    mulhilo(w[g].x[2], m1, h1, l1);
    w[g].x[0] = _mm256_xor_si256(_mm256_xor_si256(h1, w[g].x[1]), k0);
    w[g].x[2] = _mm256_xor_si256(_mm256_xor_si256(h0, w[g].x[3]), k1);
    w[g].x[1] = l1;
    w[g].x[3] = l0;
  }
}

// Round keys broadcast once per kernel call instead of once per round per group.
struct RoundKeys {
  __m256i k0[kPhiloxRounds], k1[kPhiloxRounds];
  explicit RoundKeys(const DistParams& P) {
    uint32_t a = P.key.k0, b = P.key.k1;
    for (int r = 0; r < kPhiloxRounds; ++r, a += kPhiloxW0, b += kPhiloxW1) {
      k0[r] = _mm256_set1_epi32(int32_t(a));
      k1[r] = _mm256_set1_epi32(int32_t(b));
    }
  }
};

// Blocks b0 .. b0 + 8 * kGroups - 1 (b0 a multiple of 32, so the low counter word never carries).
inline void philox_groups(const DistParams& P, const RoundKeys& K, uint64_t b0, Words8* w) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lo = _mm256_add_epi32(_mm256_set1_epi32(int32_t(uint32_t(b0))), lane);
  const __m256i hi = _mm256_set1_epi32(int32_t(uint32_t(b0 >> 32)));
  const __m256i s0 = _mm256_set1_epi32(int32_t(P.key.s0)), s1 = _mm256_set1_epi32(int32_t(P.key.s1));
  for (int g = 0; g < kGroups; ++g) {
    w[g].x[0] = _mm256_add_epi32(lo, _mm256_set1_epi32(8 * g));
    w[g].x[1] = hi;
    w[g].x[2] = s0;
    w[g].x[3] = s1;
  }
  const __m256i m0 = _mm256_set1_epi32(int32_t(kPhiloxM0));
  const __m256i m1 = _mm256_set1_epi32(int32_t(kPhiloxM1));
#pragma GCC unroll 10
  for (int r = 0; r < kPhiloxRounds; ++r) round_all(w, K.k0[r], K.k1[r], m0, m1);
}

template <bool NT>
inline void store8(float* p, __m256 v) {
  if (NT) _mm256_stream_ps(p, v); else _mm256_storeu_ps(p, v);
}
template <bool NT>
inline void store4(double* p, __m256d v) {
  if (NT) _mm256_stream_pd(p, v); else _mm256_storeu_pd(p, v);
}

// Two vectors of float32 to 16 float16 / bfloat16 (nearest even), in order.
inline __m256i round2_f16(__m256 a, __m256 b) {
  constexpr int kMode = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  return _mm256_set_m128i(_mm256_cvtps_ph(b, kMode), _mm256_cvtps_ph(a, kMode));
}
inline __m256i round_bf16_hi(__m256 v) {  // bfloat16 in the low half of each 32-bit lane
  const __m256i b = _mm256_castps_si256(v);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
  return _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(0x7fff)), odd), 16);
}
inline __m256i round2_bf16(__m256 a, __m256 b) {
  // packus interleaves the 128-bit halves (a lo, b lo, a hi, b hi); the permute restores order
  return _mm256_permute4x64_epi64(_mm256_packus_epi32(round_bf16_hi(a), round_bf16_hi(b)), 0xD8);
}

// Where the float32 kernels put 16 values (two vectors): float32 memory, or rounded to float16 /
// bfloat16 on the way out (no float32 round trip through a scratch buffer).
struct OutF32 {
  float* p;
  template <bool NT> void put2(size_t i, __m256 a, __m256 b) const {
    store8<NT>(p + i, a);
    store8<NT>(p + i + 8, b);
  }
};
template <__m256i (*Round2)(__m256, __m256)>
struct OutHalf {
  uint16_t* p;
  template <bool NT> void put2(size_t i, __m256 a, __m256 b) const {
    __m256i* at = reinterpret_cast<__m256i*>(p + i);
    if (NT) _mm256_stream_si256(at, Round2(a, b)); else _mm256_storeu_si256(at, Round2(a, b));
  }
};

// Values of 8 blocks x 4 words (v_k lane b = word k of block b) to elements i .. i + 31 in order.
template <bool NT, class Out>
inline void store_transposed(const Out& out, size_t i, __m256 v0, __m256 v1, __m256 v2, __m256 v3) {
  const __m256 t0 = _mm256_unpacklo_ps(v0, v1);
  const __m256 t1 = _mm256_unpackhi_ps(v0, v1);
  const __m256 t2 = _mm256_unpacklo_ps(v2, v3);
  const __m256 t3 = _mm256_unpackhi_ps(v2, v3);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44);  // blocks 0 | 4
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, 0xEE);  // blocks 1 | 5
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44);  // blocks 2 | 6
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, 0xEE);  // blocks 3 | 7
  out.template put2<NT>(i, _mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u2, u3, 0x20));
  out.template put2<NT>(i + 16, _mm256_permute2f128_ps(u0, u1, 0x31), _mm256_permute2f128_ps(u2, u3, 0x31));
}

// a[i], b[i] (elements 2i and 2i + 1) -> out[0..7] in order.
template <bool NT>
inline void store_interleaved(double* out, __m256d a, __m256d b) {
  const __m256d lo = _mm256_unpacklo_pd(a, b);
  const __m256d hi = _mm256_unpackhi_pd(a, b);
  store4<NT>(out, _mm256_permute2f128_pd(lo, hi, 0x20));
  store4<NT>(out + 4, _mm256_permute2f128_pd(lo, hi, 0x31));
}

// The 53-bit integer n = hi 2^21 + (lo >> 11) of 4 lanes of low words (w_2i) and high words
// (w_2i+1), as a double (exact); float64 U[0,1) is n 2^-53 (exact too).
inline vf64 int53_f64x4(__m128i lo, __m128i hi) {
  const __m256d h = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm_xor_si128(hi, _mm_set1_epi32(INT32_MIN))),
                                    _mm256_set1_pd(0x1p21), _mm256_set1_pd(0x1p52));
  return _mm256_add_pd(h, _mm256_cvtepi32_pd(_mm_srli_epi32(lo, 11)));
}
inline vf64 u01_f64x4(__m128i lo, __m128i hi) { return int53_f64x4(lo, hi) * vf64(0x1p-53); }
inline __m128i half(__m256i v, int upper) {
  return upper ? _mm256_extracti128_si256(v, 1) : _mm256_castsi256_si128(v);
}

template <class Body>
inline void for_groups(const DistParams& P, uint64_t first_block, size_t nblocks, Body body) {
  const RoundKeys K(P);
  for (size_t g = 0; g < nblocks; g += 8 * kGroups) {
    Words8 w[kGroups];
    philox_groups(P, K, first_block + g, w);
    body(static_cast<const Words8*>(w), g);
  }
}

template <bool NT>
void bits_impl(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  const OutF32 o{static_cast<float*>(out)};
  for_groups(P, c0 * (kChunk / 4), nc * (kChunk / 4), [&](const Words8* w, size_t g) {
    for (int k = 0; k < kGroups; ++k)
      store_transposed<NT>(o, 4 * (g + 8 * k), _mm256_castsi256_ps(w[k].x[0]), _mm256_castsi256_ps(w[k].x[1]),
                           _mm256_castsi256_ps(w[k].x[2]), _mm256_castsi256_ps(w[k].x[3]));
  });
}

// lo + scale ((w >> 8) 2^-24) has the same bits as lo + (scale 2^-24) (w >> 8) whenever
// scale 2^-24 is exact (both products round the same real number once), and as
// (scale 2^-24) (w >> 8) alone when lo is +0 and scale is not negative (+0 + y = y for y >= +0):
// one or two operations fewer per 8 elements.
enum class Affine { General, Folded, ScaleOnly };
// (float64: lo + scale (n 2^-53) with the 53-bit integer n, likewise.)
template <class T>
inline Affine uniform_affine(T lo, T scale, T ulp) {
  if ((scale * ulp) / ulp != scale) return Affine::General;  // scale ulp would round
  return lo == T(0) && !std::signbit(lo) && !std::signbit(scale) ? Affine::ScaleOnly : Affine::Folded;
}

template <bool NT, class Out, Affine A>
void uniform_f32_body(const DistParams& P, uint64_t c0, size_t nc, const Out o) {
  for_groups(P, c0 * (kChunk / 4), nc * (kChunk / 4), [&](const Words8* w, size_t g) {
    const vf32 lo(P.lo32), scale(P.scale32), s24(P.scale32 * 0x1p-24f);
    for (int k = 0; k < kGroups; ++k) {
      vf32 v[4];
      for (int i = 0; i < 4; ++i) {
        const vu32 x(w[k].x[i]);
        if (A == Affine::General) v[i] = affine(u01_f32<vf32>(x), lo, scale);
        if (A == Affine::Folded) v[i] = lo + s24 * to_f32(x >> 8);
        if (A == Affine::ScaleOnly) v[i] = s24 * to_f32(x >> 8);
      }
      store_transposed<NT>(o, 4 * (g + 8 * k), v[0].v, v[1].v, v[2].v, v[3].v);
    }
  });
}

template <bool NT, class Out>
void uniform_f32_impl(const DistParams& P, uint64_t c0, size_t nc, const Out o) {
  switch (uniform_affine(P.lo32, P.scale32, 0x1p-24f)) {
    case Affine::General: return uniform_f32_body<NT, Out, Affine::General>(P, c0, nc, o);
    case Affine::Folded: return uniform_f32_body<NT, Out, Affine::Folded>(P, c0, nc, o);
    case Affine::ScaleOnly: return uniform_f32_body<NT, Out, Affine::ScaleOnly>(P, c0, nc, o);
  }
}

// Batches of independent vectors for the long transcendental chains (see lanes::multi).
using F2 = multi<vf32, 2>;
using U2 = multi<vu32, 2>;
using F4 = multi<vf32, 4>;
using M4 = multi<mf32, 4>;
using U4 = multi<vu32, 4>;
using F8 = multi<vf32, 8>;
using U8 = multi<vu32, 8>;
using D2 = multi<vf64, 2>;
using D4 = multi<vf64, 4>;

template <bool NT, class Out>
void normal_f32_impl(const DistParams& P, uint64_t c0, size_t nc, const Out o) {
  for_groups(P, c0 * (kChunk / 4), nc * (kChunk / 4), [&](const Words8* w, size_t g) {
    const F8 lo(P.lo32), scale(P.scale32);  // here, not captured: the compiler sees one broadcast
    // radius words 0 and 2, angle words 1 and 3, of all groups as one batch (eight chains:
    // 10% faster than four on Zen 3, though some of them spill)
    U8 r, a;
    for (int k = 0; k < kGroups; ++k) {
      r.v[2 * k] = w[k].x[0];
      r.v[2 * k + 1] = w[k].x[2];
      a.v[2 * k] = w[k].x[1];
      a.v[2 * k + 1] = w[k].x[3];
    }
    F8 z0, z1;
    box_muller_f32<F8>(r, a, z0, z1);
    z0 = affine(z0, lo, scale);
    z1 = affine(z1, lo, scale);
    for (int k = 0; k < kGroups; ++k)
      store_transposed<NT>(o, 4 * (g + 8 * k), z0.v[2 * k].v, z1.v[2 * k].v, z0.v[2 * k + 1].v, z1.v[2 * k + 1].v);
  });
}

// Lane compaction for the truncated normal: the quantile's tail (log, sqrt, a second rational
// function) is needed by about 11% of lanes for the usual bounds [-2, 2], so its arguments are
// packed densely, computed once per full vector of them, and unpacked back in place. For an
// 8-bit mask m of 32-bit lanes, compress[m] lists the set lanes in order and expand[m][i] is
// lane i's rank among them; the *64 tables do the same for 4-bit masks of 64-bit lanes (as
// pairs of 32-bit lanes).
// constexpr: built by the compiler, so no constructor compiled with -mavx2 runs at load time,
// before dispatch has checked the CPU (it faulted on CPUs without AVX).
struct CompactTables {
  alignas(64) uint8_t compress[256][8] = {};
  uint8_t expand[256][8] = {};
  uint8_t compress64[16][8] = {};
  uint8_t expand64[16][8] = {};
  constexpr CompactTables() {
    for (int m = 0; m < 256; ++m) {
      for (int i = 0, n = 0; i < 8; ++i) {
        expand[m][i] = uint8_t(n);
        if (m >> i & 1) compress[m][n++] = uint8_t(i);
      }
    }
    for (int m = 0; m < 16; ++m) {
      for (int i = 0, n = 0; i < 4; ++i) {
        expand64[m][2 * i] = uint8_t(2 * n);
        expand64[m][2 * i + 1] = uint8_t(2 * n + 1);
        if (m >> i & 1) {
          compress64[m][2 * n] = uint8_t(2 * i);
          compress64[m][2 * n + 1] = uint8_t(2 * i + 1);
          ++n;
        }
      }
    }
  }
};
constexpr CompactTables kCompact;

inline __m256i lane_index(const uint8_t* row) {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row)));
}
// Store the lanes of v selected by m densely at dst (writes a whole vector; the rest is slack).
inline void compress_store(float* dst, vf32 v, int m) {
  _mm256_storeu_ps(dst, _mm256_permutevar8x32_ps(v.v, lane_index(kCompact.compress[m])));
}
inline void compress_store(double* dst, vf64 v, int m) {
  const __m256 x = _mm256_castpd_ps(v.v);
  _mm256_storeu_pd(dst, _mm256_castps_pd(_mm256_permutevar8x32_ps(x, lane_index(kCompact.compress64[m]))));
}
// The inverse: the packed values at src back to the lanes set in m (other lanes: don't care).
inline vf32 expand_load(const float* src, int m, vf32) {
  return _mm256_permutevar8x32_ps(_mm256_loadu_ps(src), lane_index(kCompact.expand[m]));
}
inline vf64 expand_load(const double* src, int m, vf64) {
  const __m256 x = _mm256_castpd_ps(_mm256_loadu_pd(src));
  return _mm256_castps_pd(_mm256_permutevar8x32_ps(x, lane_index(kCompact.expand64[m])));
}
inline __m256 load_v(const float* p) { return _mm256_load_ps(p); }
inline __m256d load_v(const double* p) { return _mm256_load_pd(p); }
inline void store_v(float* p, __m256 v) { _mm256_store_ps(p, v); }
inline void store_v(double* p, __m256d v) { _mm256_store_pd(p, v); }

// Truncated normal in stages of kStageSets sets of groups: the central quantiles and the packed
// tail arguments first, then all tails of the stage at once (enough of them to batch, and their
// long latency is paid once per stage, not per set), then the values. V is vf32 or vf64; Tail
// computes -Phi^-1(s) of a lane type (V or a batch of four).
constexpr int kStageSets = 8;

template <class V, class M, class Tail>
struct TailStage {
  using S = std::conditional_t<std::is_same<V, vf32>::value, float, double>;
  static constexpr int kLanes = int(sizeof(V) / sizeof(S));
  static constexpr int kVec = 4 * kGroups * kStageSets;
  V central[kVec];
  M lower[kVec], tail[kVec];
  int mask[kVec];
  alignas(32) S s[kLanes * kVec + kLanes], t[kLanes * kVec + kLanes];  // packed arguments, quantiles
  size_t nv = 0, n = 0;  // vectors and tail lanes staged

  TailStage() {
    for (S& v : s) v = S(0.25);  // slack lanes stay valid arguments
  }
  bool full() const { return nv == size_t(kVec); }
  void push(V c, M lo, M tl, V arg) {
    const int m = movemask(tl);
    central[nv] = c;
    lower[nv] = lo;
    tail[nv] = tl;
    mask[nv++] = m;
    compress_store(s + n, arg, m);
    n += size_t(__builtin_popcount(unsigned(m)));
  }
  // The tails (four vectors at a time while there are that many), then finish(j, z) for each
  // four staged vectors j .. j + 3 with their standard quantiles z[0..3].
  template <class Finish>
  void flush(Finish finish) {
    size_t j = 0;
    for (; j + 3 * kLanes < n; j += 4 * kLanes) {
      multi<V, 4> x;
      for (int i = 0; i < 4; ++i) x.v[i] = load_v(s + j + kLanes * i);
      const multi<V, 4> y = Tail()(x);
      for (int i = 0; i < 4; ++i) store_v(t + j + kLanes * i, y.v[i].v);
    }
    for (; j < n; j += kLanes) store_v(t + j, Tail()(V(load_v(s + j))).v);
    // no branch on the masks: whether a vector has tail lanes is a coin flip for the predictor
    for (size_t k = 0, pos = 0; k < nv; k += 4) {
      V z[4];
      for (size_t i = 0; i < 4; ++i) {
        const V x = select(tail[k + i], expand_load(t + pos, mask[k + i], V()), central[k + i]);
        pos += size_t(__builtin_popcount(unsigned(mask[k + i])));
        z[i] = select(lower[k + i], x, -x);
      }
      finish(k, z);
    }
    nv = n = 0;
  }
};
struct TailF32 {
  template <class F> F operator()(F s) const { return mathfun::ndtri_tail_f32(s); }
};
struct TailF64 {
  template <class F> F operator()(F s) const { return mathfun::ndtri_tail_f64(s); }
};

// p = fmadd(k 2^-25, dp, pa) equals fmadd(k, dp 2^-25, pa) when dp 2^-25 is exact (one rounding of
// the same real number either way); likewise q.
inline bool trunc_fold_exact(const DistParams& P) {
  return (P.dp32 * 0x1p-25f) * 0x1p25f == P.dp32 && (P.dq32 * 0x1p-25f) * 0x1p25f == P.dq32;
}

template <bool NT, class Out, bool Fold, bool Deep>
void trunc_f32_body(const DistParams& params, uint64_t c0, size_t nc, const Out o) {
  // a local copy: the stage's float stores cannot alias it, so its broadcasts need no reloads
  const DistParams P = params;
  size_t at = 0;  // first element of the stage
  TailStage<vf32, mf32, TailF32> st;
  // Deep: some lane may fall below kDeepTail; keep each vector's arguments and mid integers
  // to redo those lanes in float64 (as trunc_f32_word does).
  constexpr int kDeepVec = Deep ? TailStage<vf32, mf32, TailF32>::kVec : 1;
  vf32 sarg[kDeepVec];
  vu32 mids[kDeepVec];
  const auto deep = [&](size_t k, vf32& z) {
    const int m = movemask(st.tail[k] & (sarg[k] < vf32(kDeepTail)));
    if (!m) return;
    alignas(32) float zs[8];
    alignas(32) uint32_t ms[8];
    _mm256_store_ps(zs, z.v);
    _mm256_store_si256(reinterpret_cast<__m256i*>(ms), mids[k].v);
    const int lo = movemask(st.lower[k]);
    for (int l = 0; l < 8; ++l)
      if (m >> l & 1) zs[l] = deep_quantile_f32(ms[l], lo >> l & 1, P);
    z = _mm256_load_ps(zs);
  };
  const auto flush = [&] {
    st.flush([&](size_t k, const vf32* z) {
      vf32 v[4];
      for (int i = 0; i < 4; ++i) {
        vf32 zi = z[i];
        if (Deep) deep(k + i, zi);
        v[i] = trunc_finish_f32(zi, P);
      }
      store_transposed<NT>(o, at + 8 * k, v[0].v, v[1].v, v[2].v, v[3].v);
    });
    at += 8 * st.kVec;
  };
  for_groups(P, c0 * (kChunk / 4), nc * (kChunk / 4), [&](const Words8* w, size_t) {
    for (int k = 0; k < kGroups; ++k) {
      U4 x;
      for (int i = 0; i < 4; ++i) x.v[i] = w[k].x[i];
      F4 p, q, qc;
      M4 lo;
      const U4 mi = mid_int(x), mc = mi ^ U4(kMidComplement);
      if (Fold) {
        p = fmadd(to_f32(mi), F4(P.dp32 * 0x1p-25f), F4(P.pa32));
        q = fmadd(to_f32(mc), F4(P.dq32 * 0x1p-25f), F4(P.qb32));
      } else {
        trunc_pq_f32(mid_u01_f32<F4>(mi), mid_u01_f32<F4>(mc), P, p, q);
      }
      const F4 s = mathfun::quantile_arg(p, q, mathfun::kFltMin, lo, qc);
      const F4 c = mathfun::ndtri_central_f32(qc);
      const M4 t = mathfun::quantile_tail_mask(qc);
      for (int i = 0; i < 4; ++i) {
        if (Deep) {
          sarg[st.nv] = s.v[i];
          mids[st.nv] = mi.v[i];
        }
        st.push(c.v[i], lo.v[i], t.v[i], s.v[i]);
      }
    }
    if (st.full()) flush();
  });
  if (st.nv) flush();
}

template <bool NT, class Out>
void trunc_f32_k_impl(const DistParams& P, uint64_t c0, size_t nc, const Out o) {
  // p >= Phi(a) and q >= 1 - Phi(b): no lane is deep unless a bound's own tail is
  const bool deep = P.pa32 < kDeepTail || P.qb32 < kDeepTail;
  const bool fold = trunc_fold_exact(P);
  if (deep) {
    if (fold) trunc_f32_body<NT, Out, true, true>(P, c0, nc, o);
    else trunc_f32_body<NT, Out, false, true>(P, c0, nc, o);
  } else {
    if (fold) trunc_f32_body<NT, Out, true, false>(P, c0, nc, o);
    else trunc_f32_body<NT, Out, false, false>(P, c0, nc, o);
  }
}

// float64 kernels: block j gives elements 2j (words 0, 1) and 2j + 1 (words 2, 3); a group of
// 8 blocks is two halves of 4 lanes. `pair` maps the 53-bit integers of both halves (U[0,1) is
// them times 2^-53) to elements (a: 2j, b: 2j + 1) as D2 batches; it sees no words (passing
// them kept them in memory: 8%).
template <bool NT, class Pair>
inline void for_f64(const DistParams& P, uint64_t c0, size_t nc, double* o, Pair pair) {
  for_groups(P, c0 * (kChunk / 2), nc * (kChunk / 2), [&](const Words8* w, size_t g) {
    for (int k = 0; k < kGroups; ++k) {
      D2 lo01, lo23;  // the integers of (w0, w1) and (w2, w3)
      for (int h = 0; h < 2; ++h) {
        lo01.v[h] = int53_f64x4(half(w[k].x[0], h), half(w[k].x[1], h));
        lo23.v[h] = int53_f64x4(half(w[k].x[2], h), half(w[k].x[3], h));
      }
      D2 a, b;
      pair(lo01, lo23, a, b);
      for (int h = 0; h < 2; ++h) store_interleaved<NT>(o + 2 * (g + 8 * k) + 8 * h, a.v[h].v, b.v[h].v);
    }
  });
}

template <bool NT, Affine A>
void uniform_f64_body(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  for_f64<NT>(P, c0, nc, static_cast<double*>(out), [&](const D2& x01, const D2& x23, D2& a, D2& b) {
    const D2 lo(P.lo64), scale(P.scale64), s53(P.scale64 * 0x1p-53);
    if (A == Affine::General) {
      a = affine(x01 * D2(0x1p-53), lo, scale);
      b = affine(x23 * D2(0x1p-53), lo, scale);
    } else if (A == Affine::Folded) {
      a = lo + s53 * x01;
      b = lo + s53 * x23;
    } else {
      a = s53 * x01;
      b = s53 * x23;
    }
  });
}

template <bool NT>
void uniform_f64_impl(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  switch (uniform_affine(P.lo64, P.scale64, 0x1p-53)) {
    case Affine::General: return uniform_f64_body<NT, Affine::General>(P, c0, nc, out);
    case Affine::Folded: return uniform_f64_body<NT, Affine::Folded>(P, c0, nc, out);
    case Affine::ScaleOnly: return uniform_f64_body<NT, Affine::ScaleOnly>(P, c0, nc, out);
  }
}

template <bool NT>
void normal_f64_impl(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  // one group (two chains) per batch: four spill and ran 40% slower
  for_f64<NT>(P, c0, nc, static_cast<double*>(out), [&](const D2& x01, const D2& x23, D2& a, D2& b) {
    const D2 lo(P.lo64), scale(P.scale64);  // here, not captured: the compiler sees one broadcast
    box_muller_f64((x01 + D2(1.0)) * D2(0x1p-53), x23 * D2(0x1p-53), a, b);  // u1 in (0, 1]
    a = affine(a, lo, scale);
    b = affine(b, lo, scale);
  });
}

template <bool NT>
void trunc_f64_k_impl(const DistParams& params, uint64_t c0, size_t nc, void* out) {
  const DistParams P = params;  // a local copy, as in trunc_f32_body
  double* o = static_cast<double*>(out);
  const __m128i ones = _mm_set1_epi32(-1);
  TailStage<vf64, mf64, TailF64> st;
  const auto flush = [&] {
    // four staged vectors: elements 2j of both halves, then elements 2j + 1
    st.flush([&](size_t k, const vf64* z) {
      vf64 v[4];
      for (int i = 0; i < 4; ++i) v[i] = trunc_finish_f64(z[i], P);
      for (int h = 0; h < 2; ++h) store_interleaved<NT>(o + 4 * k + 8 * h, v[h].v, v[2 + h].v);
    });
    o += 4 * st.kVec;
  };
  for_groups(P, c0 * (kChunk / 2), nc * (kChunk / 2), [&](const Words8* w, size_t) {
    for (int k = 0; k < kGroups; ++k) {
      D4 um, umc;  // elements 2j and 2j + 1 of both halves of 4 lanes
      for (int i = 0; i < 4; ++i) {
        const int lo = i < 2 ? 0 : 2, h = i & 1;
        um.v[i] = u01_f64x4(half(w[k].x[lo], h), half(w[k].x[lo + 1], h));
        umc.v[i] = u01_f64x4(_mm_xor_si128(half(w[k].x[lo], h), ones), _mm_xor_si128(half(w[k].x[lo + 1], h), ones));
      }
      D4 p, q, qc;
      multi<mf64, 4> lo;
      trunc_pq_f64(um + D4(0x1p-54), umc + D4(0x1p-54), P, p, q);
      const D4 s = mathfun::quantile_arg(p, q, mathfun::kDblMin, lo, qc);
      const D4 c = mathfun::ndtri_central_f64(qc);
      const auto t = mathfun::quantile_tail_mask(qc);
      for (int i = 0; i < 4; ++i) st.push(c.v[i], lo.v[i], t.v[i], s.v[i]);
    }
    if (st.full()) flush();
  });
  if (st.nv) flush();
}

// Stream stores only for large fills (the driver decides) into 32-byte aligned memory. `call`
// names the kernel body with its NT argument; the float32 bodies also take where their values go
// (float32, or rounded to float16 / bfloat16).
#define WI_NT_DISPATCH(name, call)                                                    \
  void name(const DistParams& P, uint64_t c0, size_t nc, void* out) {                 \
    if (P.nontemporal && (reinterpret_cast<uintptr_t>(out) & 31) == 0) {             \
      constexpr bool NT = true;                                                       \
      call;                                                                           \
      _mm_sfence();                                                                   \
    } else {                                                                          \
      constexpr bool NT = false;                                                      \
      call;                                                                           \
    }                                                                                 \
  }
using OutF16 = OutHalf<round2_f16>;
using OutBF16 = OutHalf<round2_bf16>;
WI_NT_DISPATCH(bits, bits_impl<NT>(P, c0, nc, out))
WI_NT_DISPATCH(uniform_f64, uniform_f64_impl<NT>(P, c0, nc, out))
WI_NT_DISPATCH(normal_f64, normal_f64_impl<NT>(P, c0, nc, out))
WI_NT_DISPATCH(trunc_f64_k, trunc_f64_k_impl<NT>(P, c0, nc, out))
WI_NT_DISPATCH(uniform_f32, uniform_f32_impl<NT>(P, c0, nc, OutF32{static_cast<float*>(out)}))
WI_NT_DISPATCH(uniform_f16, uniform_f32_impl<NT>(P, c0, nc, OutF16{static_cast<uint16_t*>(out)}))
WI_NT_DISPATCH(uniform_bf16, uniform_f32_impl<NT>(P, c0, nc, OutBF16{static_cast<uint16_t*>(out)}))
WI_NT_DISPATCH(normal_f32, normal_f32_impl<NT>(P, c0, nc, OutF32{static_cast<float*>(out)}))
WI_NT_DISPATCH(normal_f16, normal_f32_impl<NT>(P, c0, nc, OutF16{static_cast<uint16_t*>(out)}))
WI_NT_DISPATCH(normal_bf16, normal_f32_impl<NT>(P, c0, nc, OutBF16{static_cast<uint16_t*>(out)}))
WI_NT_DISPATCH(trunc_f32_k, trunc_f32_k_impl<NT>(P, c0, nc, OutF32{static_cast<float*>(out)}))
WI_NT_DISPATCH(trunc_f16_k, trunc_f32_k_impl<NT>(P, c0, nc, OutF16{static_cast<uint16_t*>(out)}))
WI_NT_DISPATCH(trunc_bf16_k, trunc_f32_k_impl<NT>(P, c0, nc, OutBF16{static_cast<uint16_t*>(out)}))
#undef WI_NT_DISPATCH

// Streaming stores past the cache: constant fills are pure writes, never read back soon.
void pattern(void* out, size_t nbytes, const unsigned char* pat) {
  unsigned char* o = static_cast<unsigned char*>(out);
  const size_t head = (32 - (reinterpret_cast<uintptr_t>(o) & 31)) & 31;
  if (nbytes < head + 64) {
    for (; nbytes >= 32; nbytes -= 32, o += 32) std::memcpy(o, pat, 32);
    std::memcpy(o, pat, nbytes);
    return;
  }
  // Rotate the pattern so that the aligned body starts in phase with the element grid.
  unsigned char rot[32];
  for (int i = 0; i < 32; ++i) rot[i] = pat[(i + head) & 31];
  std::memcpy(o, pat, head);
  o += head;
  nbytes -= head;
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rot));
  for (; nbytes >= 32; nbytes -= 32, o += 32) _mm256_stream_si256(reinterpret_cast<__m256i*>(o), v);
  _mm_sfence();
  std::memcpy(o, rot, nbytes);
}

const KernelTable kTable = {
    "avx2",
    bits,
    {uniform_f32, uniform_f64, uniform_f16, uniform_bf16},
    {normal_f32, normal_f64, normal_f16, normal_bf16},
    {trunc_f32_k, trunc_f64_k, trunc_f16_k, trunc_bf16_k},
    pattern,
};

// ---- point kernels: 32 elements at any indices per Philox pass, one block per element ----
constexpr size_t kPointBatch = 8 * kGroups;

// b where bit `bit` of sel is set, else a (per 32-bit lane).
inline __m256i blend_bit(__m256i a, __m256i b, __m256i sel, int bit) {
  const __m256 m = _mm256_castsi256_ps(_mm256_slli_epi32(sel, 31 - bit));
  return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), m));
}
// Word sel & 3 of each lane's block.
inline __m256i pick_word(const Words8& w, __m256i sel) {
  return blend_bit(blend_bit(w.x[0], w.x[1], sel, 0), blend_bit(w.x[2], w.x[3], sel, 0), sel, 1);
}

// Philox of 32 blocks with counters (lo, hi) of this stream, 8 per vector: Words8 groups as philox_groups.
// Pair 0 or 1: only words 0, 1 (resp. 2, 3) are needed, which the last round makes from one of its
// two products; the other two words are left as the round before made them.
template <int Pair = -1>
inline void philox_lanes(const DistParams& P, const RoundKeys& K, const __m256i* lo, const __m256i* hi, Words8* w) {
  const __m256i s0 = _mm256_set1_epi32(int32_t(P.key.s0)), s1 = _mm256_set1_epi32(int32_t(P.key.s1));
  const __m256i m0 = _mm256_set1_epi32(int32_t(kPhiloxM0)), m1 = _mm256_set1_epi32(int32_t(kPhiloxM1));
  for (int g = 0; g < kGroups; ++g) {
    w[g].x[0] = lo[g];
    w[g].x[1] = hi[g];
    w[g].x[2] = s0;
    w[g].x[3] = s1;
  }
  constexpr int kFull = Pair < 0 ? kPhiloxRounds : kPhiloxRounds - 1;
#pragma GCC unroll 10
  for (int r = 0; r < kFull; ++r) round_all(w, K.k0[r], K.k1[r], m0, m1);
  if constexpr (Pair >= 0) {
    constexpr int r = kPhiloxRounds - 1;
    for (int g = 0; g < kGroups; ++g) {
      __m256i h, l;
      if constexpr (Pair == 0) {
        mulhilo(w[g].x[2], m1, h, l);
        w[g].x[0] = _mm256_xor_si256(_mm256_xor_si256(h, w[g].x[1]), K.k0[r]);
        w[g].x[1] = l;
      } else {
        mulhilo(w[g].x[0], m0, h, l);
        w[g].x[2] = _mm256_xor_si256(_mm256_xor_si256(h, w[g].x[3]), K.k1[r]);
        w[g].x[3] = l;
      }
    }
  }
}
inline void philox_lanes(const DistParams& P, const RoundKeys& K, const uint32_t* lo, const uint32_t* hi, Words8* w) {
  __m256i lv[kGroups], hv[kGroups];
  for (int g = 0; g < kGroups; ++g) {
    lv[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo + 8 * g));
    hv[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi + 8 * g));
  }
  philox_lanes(P, K, lv, hv, w);
}

// A list's counters come one by one (below); a column's, when its step is whole blocks and the
// batch's used lanes share the high counter word, are lo0 + lane * step in the lanes and its word
// selector is one constant. Lanes past m are computed and dropped.
template <int Shift>
inline bool lane_counters(const uint64_t*, size_t, size_t, __m256i*, __m256i*, __m256i*) { return false; }
template <int Shift>
inline bool lane_counters(Column c, size_t i0, size_t m, __m256i* lo, __m256i* hi, __m256i* sel) {
  const uint64_t x0 = c.first + i0 * c.step, b0 = x0 >> Shift, b1 = (x0 + (m - 1) * c.step) >> Shift;
  if (c.step % (uint64_t(1) << Shift) != 0 || (b0 >> 32) != (b1 >> 32)) return false;
  const __m256i bs = _mm256_set1_epi32(int32_t(uint32_t(c.step >> Shift)));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int g = 0; g < kGroups; ++g) {
    const __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(8 * g));
    lo[g] = _mm256_add_epi32(_mm256_set1_epi32(int32_t(uint32_t(b0))), _mm256_mullo_epi32(idx, bs));
    hi[g] = _mm256_set1_epi32(int32_t(uint32_t(b0 >> 32)));
    sel[g] = _mm256_set1_epi32(int32_t(uint32_t(x0)));
  }
  return true;
}

// Elements e[0 .. n) in batches of 32: Philox of their blocks e >> Shift (each lane its own
// counter, so a batch may cross 2**32 blocks), then body(words, sel, out) writes 32 values of T
// with sel lane = the element's low bits (which words of the block it takes). The last batch
// repeats its last element to fill the lanes; only n values reach out.
// PairOnly: body reads only the element's pair of words (words 0, 1 or 2, 3 by bit Shift - 1 of
// the element), so lanes that share one selector skip the other pair's last-round product.
template <int Shift, bool PairOnly, class T, class Src, class Body>
inline void for_points(const DistParams& P, Src e, size_t n, T* out, Body body) {
  const RoundKeys K(P);
  for (size_t i0 = 0; i0 < n; i0 += kPointBatch) {
    const size_t m = std::min(kPointBatch, n - i0);
    __m256i lv[kGroups], hv[kGroups], sv[kGroups];
    Words8 w[kGroups];
    if (lane_counters<Shift>(e, i0, m, lv, hv, sv)) {
      if (!PairOnly) {
        philox_lanes(P, K, lv, hv, w);
      } else if ((element(e, i0) >> (Shift - 1)) & 1) {
        philox_lanes<1>(P, K, lv, hv, w);
      } else {
        philox_lanes<0>(P, K, lv, hv, w);
      }
    } else {
      alignas(32) uint32_t lo[kPointBatch], hi[kPointBatch], sel[kPointBatch];
      for (size_t i = 0; i < kPointBatch; ++i) {
        const uint64_t x = element(e, i0 + (i < m ? i : m - 1));
        lo[i] = uint32_t(x >> Shift);
        hi[i] = uint32_t(x >> Shift >> 32);
        sel[i] = uint32_t(x);
      }
      for (int g = 0; g < kGroups; ++g) {
        lv[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo + 8 * g));
        hv[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi + 8 * g));
        sv[g] = _mm256_load_si256(reinterpret_cast<const __m256i*>(sel + 8 * g));
      }
      philox_lanes(P, K, lv, hv, w);
    }
    if (m == kPointBatch) {
      body(static_cast<const Words8*>(w), static_cast<const __m256i*>(sv), out + i0);
    } else {
      alignas(32) T tmp[kPointBatch];
      body(static_cast<const Words8*>(w), static_cast<const __m256i*>(sv), tmp);
      std::memcpy(out + i0, tmp, m * sizeof(T));
    }
  }
}

template <class Src>
void bits_at(const DistParams& P, Src e, size_t n, void* out) {
  for_points<2, true>(P, e, n, static_cast<uint32_t*>(out), [](const Words8* w, const __m256i* sel, uint32_t* o) {
    for (int g = 0; g < kGroups; ++g) _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8 * g), pick_word(w[g], sel[g]));
  });
}

// The float32 values of 32 elements to float32, float16 or bfloat16 memory.
struct PutF32 {
  static void put(float* o, const float* v) { std::memcpy(o, v, kPointBatch * 4); }
  using T = float;
};
template <__m256i (*Round2)(__m256, __m256)>
struct PutHalf {  // rounded 16 lanes at a time, as the chunk kernels round
  static void put(uint16_t* o, const float* v) {
    for (size_t i = 0; i < kPointBatch; i += 16)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + i), Round2(_mm256_load_ps(v + i), _mm256_load_ps(v + i + 8)));
  }
  using T = uint16_t;
};

template <class Put, class Src>
void uniform_f32_at(const DistParams& P, Src e, size_t n, void* out) {
  using T = typename Put::T;
  for_points<2, true>(P, e, n, static_cast<T*>(out), [&](const Words8* w, const __m256i* sel, T* o) {
    alignas(32) float v[kPointBatch];
    for (int g = 0; g < kGroups; ++g)
      _mm256_store_ps(v + 8 * g, affine(u01_f32<vf32>(vu32(pick_word(w[g], sel[g]))), vf32(P.lo32), vf32(P.scale32)).v);
    Put::put(o, v);
  });
}

template <class Put, class Src>
void normal_f32_at(const DistParams& P, Src e, size_t n, void* out) {
  using T = typename Put::T;
  for_points<2, true>(P, e, n, static_cast<T*>(out), [&](const Words8* w, const __m256i* sel, T* o) {
    U4 r, a;  // the element's pair: words 0, 1 or 2, 3 (bit 1 of the element)
    for (int g = 0; g < kGroups; ++g) {
      r.v[g] = blend_bit(w[g].x[0], w[g].x[2], sel[g], 1);
      a.v[g] = blend_bit(w[g].x[1], w[g].x[3], sel[g], 1);
    }
    F4 z0, z1;
    box_muller_f32<F4>(r, a, z0, z1);
    alignas(32) float v[kPointBatch];
    for (int g = 0; g < kGroups; ++g) {
      const __m256 odd = _mm256_castsi256_ps(_mm256_slli_epi32(sel[g], 31));
      const vf32 z(_mm256_blendv_ps(z0.v[g].v, z1.v[g].v, odd));
      _mm256_store_ps(v + 8 * g, affine(z, vf32(P.lo32), vf32(P.scale32)).v);
    }
    Put::put(o, v);
  });
}

// The truncated normal of 8 words: trunc_f32_word's steps on vector lanes (each lane's value is the
// same whatever its neighbours; the tail only when some lane needs it, deep lanes in float64).
inline vf32 trunc_f32_lanes(vu32 w, const DistParams& P) {
  const vu32 mid = mid_int(w);
  vf32 p, q, qc;
  mf32 lower;
  trunc_pq_f32(mid_u01_f32<vf32>(mid), mid_u01_f32<vf32>(mid ^ vu32(kMidComplement)), P, p, q);
  const vf32 s = mathfun::quantile_arg(p, q, mathfun::kFltMin, lower, qc);
  const mf32 tail = mathfun::quantile_tail_mask(qc);
  const vf32 central = mathfun::ndtri_central_f32(qc);
  const vf32 x = any(tail) ? select(tail, mathfun::ndtri_tail_f32(s), central) : central;
  vf32 z = select(lower, x, -x);
  const int deep = movemask(tail & (s < vf32(kDeepTail)));
  if (deep) {
    alignas(32) float zs[8];
    alignas(32) uint32_t ms[8];
    _mm256_store_ps(zs, z.v);
    _mm256_store_si256(reinterpret_cast<__m256i*>(ms), mid.v);
    const int lo = movemask(lower);
    for (int l = 0; l < 8; ++l)
      if (deep >> l & 1) zs[l] = deep_quantile_f32(ms[l], lo >> l & 1, P);
    z = _mm256_load_ps(zs);
  }
  return trunc_finish_f32(z, P);
}

template <class Put, class Src>
void trunc_f32_at(const DistParams& P, Src e, size_t n, void* out) {
  using T = typename Put::T;
  for_points<2, true>(P, e, n, static_cast<T*>(out), [&](const Words8* w, const __m256i* sel, T* o) {
    alignas(32) float v[kPointBatch];
    for (int g = 0; g < kGroups; ++g) _mm256_store_ps(v + 8 * g, trunc_f32_lanes(vu32(pick_word(w[g], sel[g])), P).v);
    Put::put(o, v);
  });
}

// float64: the element's two words (0, 1 or 2, 3 by its bit 0) as 4-lane halves of 53-bit integers.
inline void pair_int53(const Words8& w, __m256i sel, vf64& lo_half, vf64& hi_half) {
  const __m256i a = blend_bit(w.x[0], w.x[2], sel, 0), b = blend_bit(w.x[1], w.x[3], sel, 0);
  lo_half = int53_f64x4(half(a, 0), half(b, 0));
  hi_half = int53_f64x4(half(a, 1), half(b, 1));
}

template <class Src>
void uniform_f64_at(const DistParams& P, Src e, size_t n, void* out) {
  for_points<1, true>(P, e, n, static_cast<double*>(out), [&](const Words8* w, const __m256i* sel, double* o) {
    for (int g = 0; g < kGroups; ++g) {
      vf64 x[2];
      pair_int53(w[g], sel[g], x[0], x[1]);
      for (int h = 0; h < 2; ++h)
        _mm256_storeu_pd(o + 8 * g + 4 * h, affine(x[h] * vf64(0x1p-53), vf64(P.lo64), vf64(P.scale64)).v);
    }
  });
}

template <class Src>
void normal_f64_at(const DistParams& P, Src e, size_t n, void* out) {
  for_points<1, false>(P, e, n, static_cast<double*>(out), [&](const Words8* w, const __m256i* sel, double* o) {
    for (int g = 0; g < kGroups; ++g) {
      D2 x01, x23, z0, z1;
      for (int h = 0; h < 2; ++h) {
        x01.v[h] = int53_f64x4(half(w[g].x[0], h), half(w[g].x[1], h));
        x23.v[h] = int53_f64x4(half(w[g].x[2], h), half(w[g].x[3], h));
      }
      box_muller_f64((x01 + D2(1.0)) * D2(0x1p-53), x23 * D2(0x1p-53), z0, z1);  // as normal_f64_impl
      for (int h = 0; h < 2; ++h) {
        const __m256d odd = _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_cvtepu32_epi64(half(sel[g], h)), 63));
        const vf64 z(_mm256_blendv_pd(z0.v[h].v, z1.v[h].v, odd));
        _mm256_storeu_pd(o + 8 * g + 4 * h, affine(z, vf64(P.lo64), vf64(P.scale64)).v);
      }
    }
  });
}

template <class Src>
void trunc_f64_at(const DistParams& P, Src e, size_t n, void* out) {
  for_points<1, true>(P, e, n, static_cast<double*>(out), [&](const Words8* w, const __m256i* sel, double* o) {
    const __m128i ones = _mm_set1_epi32(-1);
    for (int g = 0; g < kGroups; ++g) {
      const __m256i a = blend_bit(w[g].x[0], w[g].x[2], sel[g], 0), b = blend_bit(w[g].x[1], w[g].x[3], sel[g], 0);
      for (int h = 0; h < 2; ++h) {
        const vf64 um = u01_f64x4(half(a, h), half(b, h)) + vf64(0x1p-54);
        const vf64 umc = u01_f64x4(_mm_xor_si128(half(a, h), ones), _mm_xor_si128(half(b, h), ones)) + vf64(0x1p-54);
        _mm256_storeu_pd(o + 8 * g + 4 * h, trunc_f64(um, umc, P).v);
      }
    }
  });
}

using PutF16 = PutHalf<round2_f16>;
using PutBF16 = PutHalf<round2_bf16>;
template <class Src>
constexpr DistTable<void (*)(const DistParams&, Src, size_t, void*)> point_kernels() {
  return {
      "avx2",
      bits_at<Src>,
      {uniform_f32_at<PutF32, Src>, uniform_f64_at<Src>, uniform_f32_at<PutF16, Src>, uniform_f32_at<PutBF16, Src>},
      {normal_f32_at<PutF32, Src>, normal_f64_at<Src>, normal_f32_at<PutF16, Src>, normal_f32_at<PutBF16, Src>},
      {trunc_f32_at<PutF32, Src>, trunc_f64_at<Src>, trunc_f32_at<PutF16, Src>, trunc_f32_at<PutBF16, Src>},
  };
}
const PointTable kPoints = point_kernels<const uint64_t*>();
const ColumnTable kColumns = point_kernels<Column>();

// ---- span and block kernels: whole Philox blocks, 32 per pass, every value of each ----
// Where a pass's blocks come from: a span of elements [first, first + n) (consecutive blocks at any
// alignment, the values in range kept) or a list of n blocks (all their values kept, in order).
struct SpanSrc {
  uint64_t first;
  size_t n;
};
struct BlockSrc {
  const uint64_t* blocks;
  size_t n;
};

// Philox of the blocks (each lane its own counter, so a pass may cross 2**32 blocks); body(words,
// tmp) writes a pass's 32 * PerBlock values in stream order; they go to out.
template <int PerBlock, class T, class Body>
inline void for_words(const DistParams& P, SpanSrc src, T* out, Body body) {
  const RoundKeys K(P);
  uint64_t b = src.first / PerBlock;
  size_t skip = size_t(src.first % PerBlock);  // elements of the first block before `first`
  for (size_t done = 0; done < src.n; b += kPointBatch, skip = 0) {
    alignas(32) uint32_t lo[kPointBatch], hi[kPointBatch];
    for (size_t i = 0; i < kPointBatch; ++i) {
      lo[i] = uint32_t(b + i);
      hi[i] = uint32_t((b + i) >> 32);
    }
    Words8 w[kGroups];
    philox_lanes(P, K, lo, hi, w);
    alignas(32) T tmp[kPointBatch * PerBlock];
    body(static_cast<const Words8*>(w), tmp);
    const size_t take = std::min(src.n - done, kPointBatch * PerBlock - skip);
    std::memcpy(out + done, tmp + skip, take * sizeof(T));
    done += take;
  }
}
template <int PerBlock, class T, class Body>
inline void for_words(const DistParams& P, BlockSrc src, T* out, Body body) {
  const RoundKeys K(P);
  for (size_t i0 = 0; i0 < src.n; i0 += kPointBatch) {
    const size_t m = std::min(kPointBatch, src.n - i0);
    alignas(32) uint32_t lo[kPointBatch], hi[kPointBatch];
    for (size_t i = 0; i < kPointBatch; ++i) {  // the last pass repeats its last block
      const uint64_t x = src.blocks[i0 + (i < m ? i : m - 1)];
      lo[i] = uint32_t(x);
      hi[i] = uint32_t(x >> 32);
    }
    Words8 w[kGroups];
    philox_lanes(P, K, lo, hi, w);
    if (m == kPointBatch) {
      body(static_cast<const Words8*>(w), out + i0 * PerBlock);
    } else {
      alignas(32) T tmp[kPointBatch * PerBlock];
      body(static_cast<const Words8*>(w), tmp);
      std::memcpy(out + i0 * PerBlock, tmp, m * PerBlock * sizeof(T));
    }
  }
}

struct BitsK {
  template <class Src>
  static void run(const DistParams& P, Src src, void* out) {
    for_words<4>(P, src, static_cast<uint32_t*>(out), [](const Words8* w, uint32_t* tmp) {
      const OutF32 o{reinterpret_cast<float*>(tmp)};
      for (int k = 0; k < kGroups; ++k)
        store_transposed<false>(o, 32 * k, _mm256_castsi256_ps(w[k].x[0]), _mm256_castsi256_ps(w[k].x[1]),
                                _mm256_castsi256_ps(w[k].x[2]), _mm256_castsi256_ps(w[k].x[3]));
    });
  }
};

// float32 values that take one word each (uniform, truncated normal): Word()(word, P) per lane.
struct UniformWord {
  vf32 operator()(vu32 x, const DistParams& P) const { return affine(u01_f32<vf32>(x), vf32(P.lo32), vf32(P.scale32)); }
};
struct TruncWord {
  vf32 operator()(vu32 x, const DistParams& P) const { return trunc_f32_lanes(x, P); }
};
template <class Out, class T, class Word>
struct WordF32K {
  template <class Src>
  static void run(const DistParams& P, Src src, void* out) {
    for_words<4>(P, src, static_cast<T*>(out), [&](const Words8* w, T* tmp) {
      const Out o{tmp};
      for (int k = 0; k < kGroups; ++k) {
        vf32 v[4];
        for (int i = 0; i < 4; ++i) v[i] = Word()(vu32(w[k].x[i]), P);
        store_transposed<false>(o, 32 * k, v[0].v, v[1].v, v[2].v, v[3].v);
      }
    });
  }
};

template <class Out, class T>
struct NormalF32K {
  template <class Src>
  static void run(const DistParams& P, Src src, void* out) {
    for_words<4>(P, src, static_cast<T*>(out), [&](const Words8* w, T* tmp) {
      const Out o{tmp};
      for (int k = 0; k < kGroups; ++k) {
        U2 r, a;  // radius words 0 and 2, angle words 1 and 3, as normal_f32_impl
        r.v[0] = w[k].x[0];
        r.v[1] = w[k].x[2];
        a.v[0] = w[k].x[1];
        a.v[1] = w[k].x[3];
        F2 z0, z1;
        box_muller_f32<F2>(r, a, z0, z1);
        z0 = affine(z0, F2(P.lo32), F2(P.scale32));
        z1 = affine(z1, F2(P.lo32), F2(P.scale32));
        store_transposed<false>(o, 32 * k, z0.v[0].v, z1.v[0].v, z0.v[1].v, z1.v[1].v);
      }
    });
  }
};

// float64: block j gives elements 2j (words 0, 1) and 2j + 1 (words 2, 3); Pair()(P, x0, x1, x2, x3,
// a, b) gives both elements' values from the words of a 4-lane half.
struct UniformPair {
  void operator()(const DistParams& P, __m128i x0, __m128i x1, __m128i x2, __m128i x3, vf64& a, vf64& b) const {
    a = affine(int53_f64x4(x0, x1) * vf64(0x1p-53), vf64(P.lo64), vf64(P.scale64));
    b = affine(int53_f64x4(x2, x3) * vf64(0x1p-53), vf64(P.lo64), vf64(P.scale64));
  }
};
struct NormalPair {
  void operator()(const DistParams& P, __m128i x0, __m128i x1, __m128i x2, __m128i x3, vf64& a, vf64& b) const {
    box_muller_f64((int53_f64x4(x0, x1) + vf64(1.0)) * vf64(0x1p-53), int53_f64x4(x2, x3) * vf64(0x1p-53), a, b);
    a = affine(a, vf64(P.lo64), vf64(P.scale64));
    b = affine(b, vf64(P.lo64), vf64(P.scale64));
  }
};
struct TruncPair {
  void operator()(const DistParams& P, __m128i x0, __m128i x1, __m128i x2, __m128i x3, vf64& a, vf64& b) const {
    const __m128i ones = _mm_set1_epi32(-1);
    a = trunc_f64(u01_f64x4(x0, x1) + vf64(0x1p-54),
                  u01_f64x4(_mm_xor_si128(x0, ones), _mm_xor_si128(x1, ones)) + vf64(0x1p-54), P);
    b = trunc_f64(u01_f64x4(x2, x3) + vf64(0x1p-54),
                  u01_f64x4(_mm_xor_si128(x2, ones), _mm_xor_si128(x3, ones)) + vf64(0x1p-54), P);
  }
};
template <class Pair>
struct F64K {
  template <class Src>
  static void run(const DistParams& P, Src src, void* out) {
    for_words<2>(P, src, static_cast<double*>(out), [&](const Words8* w, double* tmp) {
      for (int k = 0; k < kGroups; ++k)
        for (int h = 0; h < 2; ++h) {
          vf64 a, b;
          Pair()(P, half(w[k].x[0], h), half(w[k].x[1], h), half(w[k].x[2], h), half(w[k].x[3], h), a, b);
          store_interleaved<false>(tmp + 16 * k + 8 * h, a.v, b.v);
        }
    });
  }
};

template <class K>
struct SpanOf {
  static void fn(const DistParams& P, uint64_t first, size_t n, void* out) { K::run(P, SpanSrc{first, n}, out); }
};
template <class K>
struct BlocksOf {
  static void fn(const DistParams& P, const uint64_t* blocks, size_t n, void* out) {
    K::run(P, BlockSrc{blocks, n}, out);
  }
};

// The table of every distribution and dtype, as span (SpanOf) or block (BlocksOf) kernels.
template <template <class> class Of, class Kernel>
constexpr DistTable<Kernel> words_table() {
  return {"avx2",
          &Of<BitsK>::fn,
          {&Of<WordF32K<OutF32, float, UniformWord>>::fn, &Of<F64K<UniformPair>>::fn,
           &Of<WordF32K<OutF16, uint16_t, UniformWord>>::fn, &Of<WordF32K<OutBF16, uint16_t, UniformWord>>::fn},
          {&Of<NormalF32K<OutF32, float>>::fn, &Of<F64K<NormalPair>>::fn, &Of<NormalF32K<OutF16, uint16_t>>::fn,
           &Of<NormalF32K<OutBF16, uint16_t>>::fn},
          {&Of<WordF32K<OutF32, float, TruncWord>>::fn, &Of<F64K<TruncPair>>::fn,
           &Of<WordF32K<OutF16, uint16_t, TruncWord>>::fn, &Of<WordF32K<OutBF16, uint16_t, TruncWord>>::fn}};
}
const SpanTable kSpans = words_table<SpanOf, SpanKernel>();
const BlockTable kBlocks = words_table<BlocksOf, BlockKernel>();

}  // namespace

const KernelTable& kernels_avx2() { return kTable; }
const PointTable& points_avx2() { return kPoints; }
const ColumnTable& columns_avx2() { return kColumns; }
const SpanTable& spans_avx2() { return kSpans; }
const BlockTable& blocks_avx2() { return kBlocks; }

}  // namespace weightinit
