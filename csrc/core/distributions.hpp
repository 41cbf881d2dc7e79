// Words -> values for stream format v1 (DESIGN.md, "Words to values"). Distribution code sees
// only words, never a generator; templates run on scalar and SIMD lanes alike.
#pragma once

#include <cmath>
#include <cstdint>

#include "mathfun.hpp"
#include "philox.hpp"

namespace weightinit {

// Parameters of one fill, resolved once on the calling thread. The float members serve
// float32, float16 and bfloat16 outputs (computed in float32, then rounded).
struct DistParams {
  StreamKey key{0, 0};                      // key and stream words of the counter
  bool nontemporal = false;                 // large fill: stream stores past the caches
  // uniform: lo, hi - lo; normal and truncated normal: mean, std
  float lo32 = 0, scale32 = 0;
  double lo64 = 0, scale64 = 0;
  // truncated normal: p = pa + u' dp, q = qb + (1 - u') dq, z clamped to [alpha, beta],
  // value clamped to [a, b]
  float pa32 = 0, dp32 = 0, qb32 = 0, dq32 = 0, alpha32 = 0, beta32 = 0, a32 = 0, b32 = 0;
  double pa64 = 0, dp64 = 0, qb64 = 0, dq64 = 0, alpha64 = 0, beta64 = 0, a64 = 0, b64 = 0;
};

namespace dist {
using namespace lanes;

// float32 U[0,1) from one word: (w >> 8) * 2^-24.
template <class F, class U>
WI_INLINE F u01_f32(U w) { return to_f32(w >> 8) * F(0x1p-24f); }
// 2 (w >> 8) + 1 as (w >> 7) | 1; the complemented word's is that xor kMidComplement.
constexpr uint32_t kMidComplement = 0x1fffffeu;
template <class U>
WI_INLINE U mid_int(U w) { return (w >> 7) | U(1u); }
// ((w >> 8) + 0.5) * 2^-24 from mid_int(w) = 2 (w >> 8) + 1: times 2^-25, rounded to float32 once.
template <class F, class U>
WI_INLINE F mid_u01_f32(U mid) { return to_f32(mid) * F(0x1p-25f); }

template <class F>
WI_INLINE F affine(F x, F lo, F scale) { return lo + scale * x; }  // two roundings, as the reference

// u1 = ((w1 >> 8) + 1) 2^-24 in (0, 1] from the radius word (the exact 2^-24 goes into the
// log's exponent); the angle 2 pi u2 straight from its word w2.
template <class F, class U>
WI_INLINE void box_muller_f32(U w1, U w2, F& z0, F& z1) {
  const F r = vsqrt(mathfun::log_f32(to_f32((w1 >> 8) + U(1u)), -24) * F(-2.0f));
  F s, c;
  mathfun::sincos2pi_f32<F>(w2, s, c);
  z0 = r * c;
  z1 = r * s;
}

template <class F>
WI_INLINE void box_muller_f64(F u1, F u2, F& z0, F& z1) {
  const F r = vsqrt(mathfun::log_f64(u1) * F(-2.0));
  F s, c;
  mathfun::sincos2pi_f64(u2, s, c);
  z0 = r * c;
  z1 = r * s;
}

// Truncated normal by inverse CDF from u' (= mid uniform) and 1 - u' (from the complemented word),
// both exact near 0, so neither tail can produce a value beyond the extreme uniforms' quantile.
// p = Phi(a) + u' (Phi(b) - Phi(a)) and q = 1 - p, each from its own side.
template <class F>
WI_INLINE void trunc_pq_f32(F um, F umc, const DistParams& P, F& p, F& q) {
  p = fmadd(um, F(P.dp32), F(P.pa32));
  q = fmadd(umc, F(P.dq32), F(P.qb32));
}
// z = Phi^-1(p) clamped to the standardized bounds, then mean + std z clamped to [a, b].
template <class F>
WI_INLINE F trunc_finish_f32(F z, const DistParams& P) {
  z = vmin(vmax(z, F(P.alpha32)), F(P.beta32));
  const F v = affine(z, F(P.lo32), F(P.scale32));
  return vmin(vmax(v, F(P.a32)), F(P.b32));
}
// Below this tail probability float32 loses the quantile's precision (at FLT_MIN it has none
// left: z would stop near -13): such lanes take the tail in float64, from the same word.
constexpr float kDeepTail = 0x1p-100f;

// Phi^-1 of a deep lane: its tail probability s = p (lower) or q recomputed in float64 from the
// lane's mid integer (exact in a double), the float64 tail quantile rounded to float, signed.
WI_INLINE float deep_quantile_f32(uint32_t mid, bool lower, const DistParams& P) {
  const double s = lower ? std::fma(double(mid) * 0x1p-25, P.dp64, P.pa64)
                         : std::fma(double(mid ^ kMidComplement) * 0x1p-25, P.dq64, P.qb64);
  const float x = float(mathfun::ndtri_tail_f64(s > mathfun::kDblMin ? s : mathfun::kDblMin));
  return lower ? x : -x;
}

// The truncated normal of one word (the portable path; the AVX2 kernel stages the same steps).
WI_INLINE float trunc_f32_word(uint32_t w, const DistParams& P) {
  const uint32_t mid = mid_int(w);
  float p, q, qc;
  trunc_pq_f32(mid_u01_f32<float>(mid), mid_u01_f32<float>(mid ^ kMidComplement), P, p, q);
  bool lower;
  const float s = mathfun::quantile_arg(p, q, mathfun::kFltMin, lower, qc);
  const bool tail = mathfun::quantile_tail_mask(qc);
  if (tail && s < kDeepTail) return trunc_finish_f32(deep_quantile_f32(mid, lower, P), P);
  const float x = tail ? mathfun::ndtri_tail_f32(s) : mathfun::ndtri_central_f32(qc);
  return trunc_finish_f32(lower ? x : -x, P);
}

template <class F>
WI_INLINE void trunc_pq_f64(F um, F umc, const DistParams& P, F& p, F& q) {
  p = fmadd(um, F(P.dp64), F(P.pa64));
  q = fmadd(umc, F(P.dq64), F(P.qb64));
}
template <class F>
WI_INLINE F trunc_finish_f64(F z, const DistParams& P) {
  z = vmin(vmax(z, F(P.alpha64)), F(P.beta64));
  const F v = affine(z, F(P.lo64), F(P.scale64));
  return vmin(vmax(v, F(P.a64)), F(P.b64));
}
template <class F>
WI_INLINE F trunc_f64(F um, F umc, const DistParams& P) {
  F p, q;
  trunc_pq_f64(um, umc, P, p, q);
  return trunc_finish_f64(mathfun::ndtri_f64(p, q), P);
}

// Scalar helpers for the float64 uniform from two words (lo = w_2i, hi = w_2i+1):
// x = lo + 2^32 hi, (x >> 11) * 2^-53 = hi * 2^-32 + (lo >> 11) * 2^-53, exactly.
WI_INLINE double u01_f64(uint32_t lo, uint32_t hi) {
  return double(hi) * 0x1p-32 + double(lo >> 11) * 0x1p-53;
}

// Round float32 to float16 / bfloat16, nearest even (finite inputs).
WI_INLINE uint16_t f32_to_bf16(float x) {
  const uint32_t b = as_u32(x);
  return uint16_t((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}
WI_INLINE uint16_t f32_to_f16(float x) {
  const uint32_t b = as_u32(x);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const uint32_t a = b & 0x7fffffffu;
  if (a >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0u));
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: overflow to inf
  if (a >= 0x38800000u) {                                  // normal half
    const uint32_t r = a - 0x38000000u;                    // rebias exponent 127 -> 15
    return uint16_t(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
  }
  if (a < 0x33000000u) return uint16_t(sign);  // below half the smallest subnormal: +-0
  // subnormal half: shift the full significand into place, rounding to nearest even
  const uint32_t e = a >> 23;
  const uint32_t mant = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // 14..24
  const uint32_t half = 1u << (shift - 1);
  const uint32_t rem = mant & ((1u << shift) - 1u);
  uint32_t h = mant >> shift;
  if (rem > half || (rem == half && (h & 1u))) ++h;
  return uint16_t(sign | h);
}

}  // namespace dist
}  // namespace weightinit
