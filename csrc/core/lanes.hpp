// Lane types for the kernels: the same templates run on scalars (portable path) and on
// AVX2 vectors (SIMD path). Every rounding operation (+ - * / sqrt fma) exists in both with
// IEEE semantics, so a template instantiated for either gives bit-identical results.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

// The kernels are long chains of tiny functions over wide lane types; they must all inline.
#if defined(__GNUC__)
#define WI_INLINE inline __attribute__((always_inline))
#else
#define WI_INLINE inline
#endif

namespace weightinit {
namespace lanes {

// ---- scalar lanes: float, double, uint32_t, uint64_t; masks are bool ----
WI_INLINE float fmadd(float a, float b, float c) { return std::fma(a, b, c); }
WI_INLINE double fmadd(double a, double b, double c) { return std::fma(a, b, c); }
WI_INLINE float vsqrt(float a) { return std::sqrt(a); }
WI_INLINE double vsqrt(double a) { return std::sqrt(a); }
template <class T>
WI_INLINE T select(bool m, T a, T b) { return m ? a : b; }
// min/max with the operand order of vminps/vmaxps (a < b ? a : b), so NaN-free inputs agree.
WI_INLINE float vmin(float a, float b) { return a < b ? a : b; }
WI_INLINE float vmax(float a, float b) { return a > b ? a : b; }
WI_INLINE double vmin(double a, double b) { return a < b ? a : b; }
WI_INLINE double vmax(double a, double b) { return a > b ? a : b; }
WI_INLINE uint32_t as_u32(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
WI_INLINE float as_f32(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }
WI_INLINE uint64_t as_u64(double x) { uint64_t u; std::memcpy(&u, &x, 8); return u; }
WI_INLINE double as_f64(uint64_t u) { double x; std::memcpy(&x, &u, 8); return x; }
// Exact conversions of small integers (|v| < 2**24 resp. 2**51), two's complement in the lane.
WI_INLINE float to_f32(uint32_t u) { return float(int32_t(u)); }
WI_INLINE double to_f64(uint64_t u) { return double(int64_t(u)); }

// A mask from the sign bit of each 32-bit lane (what vblendvps reads).
WI_INLINE bool sign_mask(uint32_t u) { return (u >> 31) != 0; }
// All ones where a < b, else 0 (lane values below 2**31: AVX2 compares signed).
WI_INLINE uint32_t lt_mask(uint32_t a, uint32_t b) { return a < b ? 0xffffffffu : 0u; }
// Whether any lane of a mask is set: lets a kernel skip work no lane needs (never changes a value).
WI_INLINE bool any(bool m) { return m; }

template <class F> struct Traits;
template <> struct Traits<float> { using U = uint32_t; using M = bool; };
template <> struct Traits<double> { using U = uint64_t; using M = bool; };

#if defined(__AVX2__)
// ---- AVX2 lanes: 8 floats, 4 doubles, 8 x u32, 4 x u64 ----
struct vf32 {
  __m256 v;
  vf32() = default;
  vf32(__m256 x) : v(x) {}
  vf32(float x) : v(_mm256_set1_ps(x)) {}
};
struct vf64 {
  __m256d v;
  vf64() = default;
  vf64(__m256d x) : v(x) {}
  vf64(double x) : v(_mm256_set1_pd(x)) {}
};
struct vu32 {
  __m256i v;
  vu32() = default;
  vu32(__m256i x) : v(x) {}
  vu32(uint32_t x) : v(_mm256_set1_epi32(int32_t(x))) {}
};
struct vu64 {
  __m256i v;
  vu64() = default;
  vu64(__m256i x) : v(x) {}
  vu64(uint64_t x) : v(_mm256_set1_epi64x(int64_t(x))) {}
};
struct mf32 { __m256 v; };
struct mf64 { __m256d v; };

WI_INLINE vf32 operator+(vf32 a, vf32 b) { return _mm256_add_ps(a.v, b.v); }
WI_INLINE vf32 operator-(vf32 a, vf32 b) { return _mm256_sub_ps(a.v, b.v); }
WI_INLINE vf32 operator*(vf32 a, vf32 b) { return _mm256_mul_ps(a.v, b.v); }
WI_INLINE vf32 operator/(vf32 a, vf32 b) { return _mm256_div_ps(a.v, b.v); }
WI_INLINE vf32 operator-(vf32 a) { return _mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f)); }
WI_INLINE vf32 fmadd(vf32 a, vf32 b, vf32 c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
WI_INLINE vf32 vsqrt(vf32 a) { return _mm256_sqrt_ps(a.v); }
WI_INLINE vf32 vmin(vf32 a, vf32 b) { return _mm256_min_ps(a.v, b.v); }
WI_INLINE vf32 vmax(vf32 a, vf32 b) { return _mm256_max_ps(a.v, b.v); }
WI_INLINE mf32 operator<(vf32 a, vf32 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
WI_INLINE mf32 operator<=(vf32 a, vf32 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)}; }
WI_INLINE mf32 operator>(vf32 a, vf32 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ)}; }
WI_INLINE mf32 operator>=(vf32 a, vf32 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)}; }
WI_INLINE mf32 operator==(vf32 a, vf32 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)}; }
WI_INLINE mf32 operator&(mf32 a, mf32 b) { return {_mm256_and_ps(a.v, b.v)}; }
WI_INLINE mf32 operator|(mf32 a, mf32 b) { return {_mm256_or_ps(a.v, b.v)}; }
WI_INLINE vf32 select(mf32 m, vf32 a, vf32 b) { return _mm256_blendv_ps(b.v, a.v, m.v); }
WI_INLINE int movemask(mf32 m) { return _mm256_movemask_ps(m.v); }
WI_INLINE bool any(mf32 m) { return _mm256_movemask_ps(m.v) != 0; }

WI_INLINE vf64 operator+(vf64 a, vf64 b) { return _mm256_add_pd(a.v, b.v); }
WI_INLINE vf64 operator-(vf64 a, vf64 b) { return _mm256_sub_pd(a.v, b.v); }
WI_INLINE vf64 operator*(vf64 a, vf64 b) { return _mm256_mul_pd(a.v, b.v); }
WI_INLINE vf64 operator/(vf64 a, vf64 b) { return _mm256_div_pd(a.v, b.v); }
WI_INLINE vf64 operator-(vf64 a) { return _mm256_xor_pd(a.v, _mm256_set1_pd(-0.0)); }
WI_INLINE vf64 fmadd(vf64 a, vf64 b, vf64 c) { return _mm256_fmadd_pd(a.v, b.v, c.v); }
WI_INLINE vf64 vsqrt(vf64 a) { return _mm256_sqrt_pd(a.v); }
WI_INLINE vf64 vmin(vf64 a, vf64 b) { return _mm256_min_pd(a.v, b.v); }
WI_INLINE vf64 vmax(vf64 a, vf64 b) { return _mm256_max_pd(a.v, b.v); }
WI_INLINE mf64 operator<(vf64 a, vf64 b) { return {_mm256_cmp_pd(a.v, b.v, _CMP_LT_OQ)}; }
WI_INLINE mf64 operator<=(vf64 a, vf64 b) { return {_mm256_cmp_pd(a.v, b.v, _CMP_LE_OQ)}; }
WI_INLINE mf64 operator>(vf64 a, vf64 b) { return {_mm256_cmp_pd(a.v, b.v, _CMP_GT_OQ)}; }
WI_INLINE mf64 operator>=(vf64 a, vf64 b) { return {_mm256_cmp_pd(a.v, b.v, _CMP_GE_OQ)}; }
WI_INLINE mf64 operator==(vf64 a, vf64 b) { return {_mm256_cmp_pd(a.v, b.v, _CMP_EQ_OQ)}; }
WI_INLINE mf64 operator&(mf64 a, mf64 b) { return {_mm256_and_pd(a.v, b.v)}; }
WI_INLINE mf64 operator|(mf64 a, mf64 b) { return {_mm256_or_pd(a.v, b.v)}; }
WI_INLINE vf64 select(mf64 m, vf64 a, vf64 b) { return _mm256_blendv_pd(b.v, a.v, m.v); }
WI_INLINE int movemask(mf64 m) { return _mm256_movemask_pd(m.v); }
WI_INLINE bool any(mf64 m) { return _mm256_movemask_pd(m.v) != 0; }

WI_INLINE vu32 operator+(vu32 a, vu32 b) { return _mm256_add_epi32(a.v, b.v); }
WI_INLINE vu32 operator-(vu32 a, vu32 b) { return _mm256_sub_epi32(a.v, b.v); }
WI_INLINE vu32 operator&(vu32 a, vu32 b) { return _mm256_and_si256(a.v, b.v); }
WI_INLINE vu32 operator|(vu32 a, vu32 b) { return _mm256_or_si256(a.v, b.v); }
WI_INLINE vu32 operator^(vu32 a, vu32 b) { return _mm256_xor_si256(a.v, b.v); }
WI_INLINE vu32 operator~(vu32 a) { return _mm256_xor_si256(a.v, _mm256_set1_epi32(-1)); }
WI_INLINE vu32 operator>>(vu32 a, int n) { return _mm256_srli_epi32(a.v, n); }
WI_INLINE vu32 lt_mask(vu32 a, vu32 b) { return _mm256_cmpgt_epi32(b.v, a.v); }
WI_INLINE vu32 operator<<(vu32 a, int n) { return _mm256_slli_epi32(a.v, n); }
WI_INLINE vu64 operator+(vu64 a, vu64 b) { return _mm256_add_epi64(a.v, b.v); }
WI_INLINE vu64 operator-(vu64 a, vu64 b) { return _mm256_sub_epi64(a.v, b.v); }
WI_INLINE vu64 operator&(vu64 a, vu64 b) { return _mm256_and_si256(a.v, b.v); }
WI_INLINE vu64 operator|(vu64 a, vu64 b) { return _mm256_or_si256(a.v, b.v); }
WI_INLINE vu64 operator^(vu64 a, vu64 b) { return _mm256_xor_si256(a.v, b.v); }
WI_INLINE vu64 operator>>(vu64 a, int n) { return _mm256_srli_epi64(a.v, n); }
WI_INLINE vu64 operator<<(vu64 a, int n) { return _mm256_slli_epi64(a.v, n); }

WI_INLINE vu32 as_u32(vf32 x) { return _mm256_castps_si256(x.v); }
WI_INLINE vf32 as_f32(vu32 u) { return _mm256_castsi256_ps(u.v); }
WI_INLINE vu64 as_u64(vf64 x) { return _mm256_castpd_si256(x.v); }
WI_INLINE vf64 as_f64(vu64 u) { return _mm256_castsi256_pd(u.v); }
WI_INLINE vf32 to_f32(vu32 u) { return _mm256_cvtepi32_ps(u.v); }
WI_INLINE mf32 sign_mask(vu32 u) { return {_mm256_castsi256_ps(u.v)}; }
// AVX2 has no int64 -> double; |v| < 2**51 converts exactly through the 1.5 * 2**52 bias.
WI_INLINE vf64 to_f64(vu64 u) {
  const __m256d bias = _mm256_set1_pd(6755399441055744.0);
  return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(u.v, _mm256_castpd_si256(bias))), bias);
}

template <> struct Traits<vf32> { using U = vu32; using M = mf32; };
template <> struct Traits<vf64> { using U = vu64; using M = mf64; };
#endif


// ---- N independent vectors as one lane type: the same templates then emit N interleaved
// dependency chains, which the out-of-order core overlaps (log -> sqrt -> divide chains are long).
template <class V, int N>
struct multi {
  V v[N];
  multi() = default;
  template <class S, class = decltype(V(std::declval<S>()))>
  multi(S x) { for (int i = 0; i < N; ++i) v[i] = V(x); }
};

#define WI_MULTI_BINARY(op)                                                        \
  template <class V, int N>                                                        \
  WI_INLINE auto operator op(const multi<V, N>& a, const multi<V, N>& b) {            \
    multi<decltype(a.v[0] op b.v[0]), N> r;                                        \
    for (int i = 0; i < N; ++i) r.v[i] = a.v[i] op b.v[i];                         \
    return r;                                                                      \
  }
WI_MULTI_BINARY(+)
WI_MULTI_BINARY(-)
WI_MULTI_BINARY(*)
WI_MULTI_BINARY(/)
WI_MULTI_BINARY(<)
WI_MULTI_BINARY(<=)
WI_MULTI_BINARY(>)
WI_MULTI_BINARY(>=)
WI_MULTI_BINARY(==)
WI_MULTI_BINARY(&)
WI_MULTI_BINARY(|)
WI_MULTI_BINARY(^)
template <class V, int N>
WI_INLINE multi<V, N> lt_mask(const multi<V, N>& a, const multi<V, N>& b) {
  multi<V, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = lt_mask(a.v[i], b.v[i]);
  return r;
}
#undef WI_MULTI_BINARY

#define WI_MULTI_UNARY(name, expr)                                                 \
  template <class V, int N>                                                        \
  WI_INLINE auto name(const multi<V, N>& a) {                                         \
    multi<decltype(expr(a.v[0])), N> r;                                            \
    for (int i = 0; i < N; ++i) r.v[i] = expr(a.v[i]);                             \
    return r;                                                                      \
  }
WI_MULTI_UNARY(operator-, -)
WI_MULTI_UNARY(operator~, ~)
WI_MULTI_UNARY(vsqrt, vsqrt)
WI_MULTI_UNARY(as_u32, as_u32)
WI_MULTI_UNARY(as_f32, as_f32)
WI_MULTI_UNARY(as_u64, as_u64)
WI_MULTI_UNARY(as_f64, as_f64)
WI_MULTI_UNARY(to_f32, to_f32)
WI_MULTI_UNARY(to_f64, to_f64)
WI_MULTI_UNARY(sign_mask, sign_mask)
#undef WI_MULTI_UNARY

template <class V, int N>
WI_INLINE multi<V, N> operator>>(const multi<V, N>& a, int n) {
  multi<V, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = a.v[i] >> n;
  return r;
}
template <class V, int N>
WI_INLINE multi<V, N> operator<<(const multi<V, N>& a, int n) {
  multi<V, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = a.v[i] << n;
  return r;
}
template <class V, int N>
WI_INLINE multi<V, N> fmadd(const multi<V, N>& a, const multi<V, N>& b, const multi<V, N>& c) {
  multi<V, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = fmadd(a.v[i], b.v[i], c.v[i]);
  return r;
}
template <class V, int N>
WI_INLINE multi<V, N> vmin(const multi<V, N>& a, const multi<V, N>& b) {
  multi<V, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = vmin(a.v[i], b.v[i]);
  return r;
}
template <class V, int N>
WI_INLINE multi<V, N> vmax(const multi<V, N>& a, const multi<V, N>& b) {
  multi<V, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = vmax(a.v[i], b.v[i]);
  return r;
}
template <class Mk, class V, int N>
WI_INLINE multi<V, N> select(const multi<Mk, N>& m, const multi<V, N>& a, const multi<V, N>& b) {
  multi<V, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = select(m.v[i], a.v[i], b.v[i]);
  return r;
}
template <class Mk, int N>
WI_INLINE bool any(const multi<Mk, N>& m) {
  auto r = m.v[0];
  for (int i = 1; i < N; ++i) r = r | m.v[i];
  return any(r);
}
template <class V, int N>
struct Traits<multi<V, N>> {
  using U = multi<typename Traits<V>::U, N>;
  using M = multi<typename Traits<V>::M, N>;
};
}  // namespace lanes
}  // namespace weightinit
