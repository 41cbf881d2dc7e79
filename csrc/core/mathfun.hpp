// Elementary functions for stream format v1, written once over a lane type (see lanes.hpp).
// Each is a fixed sequence of IEEE operations, so the portable and SIMD paths agree to the bit.
// Domains are only what the distributions need (positive normal arguments, u in [0, 1)).
#pragma once

#include <limits>

#include "lanes.hpp"

namespace weightinit {
namespace mathfun {
using namespace lanes;

// The smallest normal numbers (FLT_MIN, DBL_MIN): a tail probability is kept at least this, so its log is finite.
constexpr double kFltMin = double(std::numeric_limits<float>::min());
constexpr double kDblMin = std::numeric_limits<double>::min();

// ln(x 2^scale) for positive normal float x (and a normal product). Cephes logf (S. Moshier):
// x = 2^e m, m in [sqrt(1/2), sqrt(2)), degree-8 polynomial in m - 1; about 1 ulp. The
// exponent and the choice of m come from integer operations (exact, and off the FMA pipes);
// scale lets a caller skip an exact power-of-two multiply.
template <class F>
WI_INLINE F log_f32(F x, int scale = 0) {
  using U = typename Traits<F>::U;
  const U bits = as_u32(x);
  const U mant = bits & U(0x007fffffu);
  const U small = lt_mask(mant, U(0x003504f3u));  // m < sqrt(1/2) as a float in [1/2, 1): take 2m
  const F t = as_f32(mant | (U(0x3f000000u) | (small & U(0x00800000u)))) - F(1.0f);
  const F e = to_f32(((bits >> 23) - U(uint32_t(126 - scale))) + small);  // + small: minus 1 if small
  const F z = t * t;
  F p = F(7.0376836292e-2f);
  p = fmadd(p, t, F(-1.1514610310e-1f));
  p = fmadd(p, t, F(1.1676998740e-1f));
  p = fmadd(p, t, F(-1.2420140846e-1f));
  p = fmadd(p, t, F(1.4249322787e-1f));
  p = fmadd(p, t, F(-1.6668057665e-1f));
  p = fmadd(p, t, F(2.0000714765e-1f));
  p = fmadd(p, t, F(-2.4999993993e-1f));
  p = fmadd(p, t, F(3.3333331174e-1f));
  F y = (p * t) * z;
  y = fmadd(e, F(-2.12194440e-4f), y);  // ln 2 = 0.693359375 - 2.12194440e-4, split for exactness
  y = fmadd(z, F(-0.5f), y);
  return fmadd(e, F(0.693359375f), t + y);
}

// ln x for positive normal double x. fdlibm e_log.c (Sun, 1993): x = 2^k (1 + f),
// 1 + f in [sqrt(2)/2, sqrt(2)), s = f / (2 + f), Remez polynomial in s^2; < 1 ulp.
template <class F>
WI_INLINE F log_f64(F x) {
  using U = typename Traits<F>::U;
  const U bits = as_u64(x);
  const U hx = bits >> 32;
  const U hm = hx & U(uint64_t(0x000fffff));
  const U i = (hm + U(uint64_t(0x95f64))) & U(uint64_t(0x100000));  // set iff mantissa >= sqrt(2)
  const U k = ((hx >> 20) - U(uint64_t(1023))) + (i >> 20);
  const F m = as_f64(((hm | (i ^ U(uint64_t(0x3ff00000)))) << 32) | (bits & U(uint64_t(0xffffffff))));
  const F f = m - F(1.0);
  const F dk = to_f64(k);
  const F hfsq = (F(0.5) * f) * f;
  const F s = f / (F(2.0) + f);
  const F z = s * s;
  const F w = z * z;
  const F t1 = w * fmadd(fmadd(F(1.531383769920937332e-01), w, F(2.222219843214978396e-01)), w,
                         F(3.999999999940941908e-01));
  const F t2 = z * fmadd(fmadd(fmadd(F(1.479819860511658591e-01), w, F(1.818357216161805012e-01)), w,
                               F(2.857142874366239149e-01)),
                         w, F(6.666666666666735130e-01));
  const F r = t2 + t1;
  const F ln2_hi = F(6.93147180369123816490e-01);  // trailing zeros: dk * ln2_hi is exact
  const F ln2_lo = F(1.90821492927058770002e-10);
  return dk * ln2_hi - ((hfsq - fmadd(s, hfsq + r, dk * ln2_lo)) - f);
}

// sin and cos of 2 pi u for u = (w >> 8) * 2^-24, from the word itself: the quadrant
// k = round(4u) (ties up) and the remainder come out of the 24-bit integer exactly, then
// Cephes sinf/cosf polynomials on [-pi/4, pi/4] and sign/swap fix-ups by integer bit tricks.
template <class F, class U>
WI_INLINE void sincos2pi_f32(U w, F& s, F& c) {
  const U m = w >> 8;
  const U k = (m + U(0x200000u)) >> 22;                           // 0..4
  const F y = to_f32(m - (k << 22)) * F(1.57079632679489661923f * 0x1p-22f);  // (4u - k) fl(pi/2), exact scale
  const F z = y * y;
  const F sy = fmadd(y * z, fmadd(fmadd(F(-1.9515295891e-4f), z, F(8.3321608736e-3f)), z,
                                  F(-1.6666654611e-1f)),
                     y);
  const F cy = fmadd(z * z, fmadd(fmadd(F(2.443315711809948e-5f), z, F(-1.388731625493765e-3f)), z,
                                  F(4.166664568298827e-2f)),
                     fmadd(z, F(-0.5f), F(1.0f)));
  // quadrant k mod 4 rotates (cos y, sin y): odd k swaps; cos negates for k in {1, 2}, sin for {2, 3}.
  // The swap as xor with an all-ones mask: integer logic instead of blends on the FMA pipes.
  const U swap = (as_u32(sy) ^ as_u32(cy)) & (U(0u) - (k & U(1u)));
  c = as_f32(as_u32(cy) ^ swap ^ (((k + U(1u)) & U(2u)) << 30));
  s = as_f32(as_u32(sy) ^ swap ^ ((k & U(2u)) << 30));
}

// The same for double, with fdlibm's __kernel_sin / __kernel_cos polynomials.
template <class F>
WI_INLINE void sincos2pi_f64(F u, F& s, F& c) {
  const F t = u * F(4.0);
  const F k = (t + F(6755399441055744.0)) - F(6755399441055744.0);  // 1.5 * 2**52
  const F y = (t - k) * F(1.57079632679489661923132169163975144);
  const F z = y * y;
  const F rs = fmadd(fmadd(fmadd(fmadd(F(1.58969099521155010221e-10), z, F(-2.50507602534068634195e-08)), z,
                               F(2.75573137070700676789e-06)),
                         z, F(-1.98412698298579493134e-04)),
                   z, F(8.33333333332248946124e-03));
  const F sy = fmadd(y * z, fmadd(z, rs, F(-1.66666666666666324348e-01)), y);
  const F pc = fmadd(fmadd(fmadd(fmadd(fmadd(F(-1.13596475577881948265e-11), z, F(2.08757232129817482790e-09)), z,
                                     F(-2.75573143513906633035e-07)),
                               z, F(2.48015872894767294178e-05)),
                         z, F(-1.38888888888741095749e-03)),
                   z, F(4.16666666666666019037e-02));
  const F rc = z * pc;
  const F hz = F(0.5) * z;
  const F w = F(1.0) - hz;
  const F cy = w + fmadd(z, rc, (F(1.0) - w) - hz);  // recovers the rounding of 1 - z/2
  const auto swap = (k == F(1.0)) | (k == F(3.0));
  const auto cneg = (k > F(0.5)) & (k < F(2.5));
  const auto sneg = (k > F(1.5)) & (k < F(3.5));
  const F cs = select(swap, sy, cy);
  const F sn = select(swap, cy, sy);
  c = select(cneg, -cs, cs);
  s = select(sneg, -sn, sn);
}

// Standard normal quantile Phi^-1(p) given both p and q = 1 - p, each accurate near 0, so
// neither tail loses precision to 1 - p. Wichura, AS 241 (Appl. Statist. 37, 1988): PPND7
// (about 1e-7 relative) for float, PPND16 (about 1e-16) for double. Split into its regions
// so a kernel can give the tail (log, sqrt, a second rational function) only the lanes that
// need it: each lane's value is the same whichever lanes are computed alongside it.

// The smaller tail s = min(p, q), kept normal so its log is finite; lower: p <= 1/2, so the
// result is negative; qc = s - 1/2.
template <class F, class M>
WI_INLINE F quantile_arg(F p, F q, double tiny, M& lower, F& qc) {
  lower = p <= F(0.5);
  const F s = vmax(select(lower, p, q), F(tiny));
  qc = s - F(0.5);
  return s;
}
// Lanes outside the central region |p - 1/2| <= 0.425.
template <class F>
WI_INLINE auto quantile_tail_mask(F qc) { return qc < F(-0.425); }
// Phi^-1 from the region results: +-(the central or the tail value).
template <class F, class M>
WI_INLINE F quantile_join(M lower, M tail_mask, F central, F tail) {
  const F x = select(tail_mask, tail, central);
  return select(lower, x, -x);
}

template <class F>
WI_INLINE F ndtri_central_f32(F qc) {
  const F r = fmadd(-qc, qc, F(0.180625f));
  return (qc * fmadd(fmadd(fmadd(F(5.9109374720e+01f), r, F(1.5929113202e+02f)), r, F(5.0434271938e+01f)),
                     r, F(3.3871327179e+00f))) /
         fmadd(fmadd(fmadd(F(6.7187563600e+01f), r, F(7.8757757664e+01f)), r, F(1.7895169469e+01f)), r,
               F(1.0f));
}
// -Phi^-1(s) for the tail probability s < 0.075: a rational function of sqrt(-ln s), with
// separate coefficients past 5 (s < 1.4e-11); one division serves both pieces, and the far
// piece is evaluated only if some lane needs it.
template <class F>
WI_INLINE F ndtri_tail_f32(F s) {
  const F rt = vsqrt(-log_f32(s));
  const auto near = rt <= F(5.0f);
  if (!any(rt > F(5.0f))) {
    const F r1 = rt - F(1.6f);
    return -(fmadd(fmadd(fmadd(F(1.7023821103e-01f), r1, F(1.3067284816e+00f)), r1, F(2.7568153900e+00f)), r1,
                   F(1.4234372777e+00f)) /
             fmadd(fmadd(F(1.2021132975e-01f), r1, F(7.3700164250e-01f)), r1, F(1.0f)));
  }
  const F r = rt - select(near, F(1.6f), F(5.0f));
  const F num = select(near, F(1.7023821103e-01f), F(1.7337203997e-02f));
  const F n1 = fmadd(num, r, select(near, F(1.3067284816e+00f), F(4.2868294337e-01f)));
  const F n2 = fmadd(n1, r, select(near, F(2.7568153900e+00f), F(3.0812263860e+00f)));
  const F n3 = fmadd(n2, r, select(near, F(1.4234372777e+00f), F(6.6579051150e+00f)));
  const F d1 = fmadd(select(near, F(1.2021132975e-01f), F(1.2258202635e-02f)), r,
                     select(near, F(7.3700164250e-01f), F(2.4197894225e-01f)));
  const F d2 = fmadd(d1, r, F(1.0f));
  return -(n3 / d2);
}
// (float32 has no whole-quantile function: its callers, trunc_f32_word and the AVX2 stage, put
// the regions together themselves, with a float64 path for deep tails.)

template <class F>
WI_INLINE F horner7(F x, double c7, double c6, double c5, double c4, double c3, double c2, double c1,
                 double c0) {
  F y = fmadd(F(c7), x, F(c6));
  y = fmadd(y, x, F(c5));
  y = fmadd(y, x, F(c4));
  y = fmadd(y, x, F(c3));
  y = fmadd(y, x, F(c2));
  y = fmadd(y, x, F(c1));
  return fmadd(y, x, F(c0));
}

template <class F>
WI_INLINE F ndtri_central_f64(F qc) {
  const F r = fmadd(-qc, qc, F(0.180625));
  return (qc * horner7(r, 2.5090809287301226727e+03, 3.3430575583588128105e+04, 6.7265770927008700853e+04,
                       4.5921953931549871457e+04, 1.3731693765509461125e+04, 1.9715909503065514427e+03,
                       1.3314166789178437745e+02, 3.3871328727963666080e+00)) /
         horner7(r, 5.2264952788528545610e+03, 2.8729085735721942674e+04, 3.9307895800092710610e+04,
                 2.1213794301586595867e+04, 5.3941960214247511077e+03, 6.8718700749205790830e+02,
                 4.2313330701600911252e+01, 1.0);
}
template <class F>
WI_INLINE F ndtri_mid_num_f64(F r) {
  return horner7(r, 7.74545014278341407640e-04, 2.27238449892691845833e-02, 2.41780725177450611770e-01,
                 1.27045825245236838258e+00, 3.64784832476320460504e+00, 5.76949722146069140550e+00,
                 4.63033784615654529590e+00, 1.42343711074968357734e+00);
}
template <class F>
WI_INLINE F ndtri_mid_den_f64(F r) {
  return horner7(r, 1.05075007164441684324e-09, 5.47593808499534494600e-04, 1.51986665636164571966e-02,
                 1.48103976427480074590e-01, 6.89767334985100004550e-01, 1.67638483018380384940e+00,
                 2.05319162663775882187e+00, 1.0);
}
// As ndtri_tail_f32; the far piece (s < 1.4e-11) is a separate rational function selected
// before the one division.
template <class F>
WI_INLINE F ndtri_tail_f64(F s) {
  const F rt = vsqrt(-log_f64(s));
  const auto near = rt <= F(5.0);
  if (!any(rt > F(5.0))) {
    const F r1 = rt - F(1.6);
    return -(ndtri_mid_num_f64(r1) / ndtri_mid_den_f64(r1));
  }
  const F r1 = rt - F(1.6);
  const F r2 = rt - F(5.0);
  const F num = select(near, ndtri_mid_num_f64(r1),
                       horner7(r2, 2.01033439929228813265e-07, 2.71155556874348757815e-05,
                               1.24266094738807843860e-03, 2.65321895265761230930e-02, 2.96560571828504891230e-01,
                               1.78482653991729133580e+00, 5.46378491116411436990e+00, 6.65790464350110377720e+00));
  const F den = select(near, ndtri_mid_den_f64(r1),
                       horner7(r2, 2.04426310338993978564e-15, 1.42151175831644588870e-07,
                               1.84631831751005468180e-05, 7.86869131145613259100e-04, 1.48753612908506148525e-02,
                               1.36929880922735805310e-01, 5.99832206555887937690e-01, 1.0));
  return -(num / den);
}
template <class F>
WI_INLINE F ndtri_f64(F p, F q) {
  typename Traits<F>::M lower;
  F qc;
  const F s = quantile_arg(p, q, kDblMin, lower, qc);
  const auto tail = quantile_tail_mask(qc);
  const F central = ndtri_central_f64(qc);
  return quantile_join(lower, tail, central, any(tail) ? ndtri_tail_f64(s) : central);
}

}  // namespace mathfun
}  // namespace weightinit
