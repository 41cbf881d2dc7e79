#include "stats.hpp"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "fill.hpp"
#include "thread_pool.hpp"

#if defined(WI_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define WI_STATS_AVX2 1
#endif

namespace weightinit {
namespace {

// Element i of a block goes to lane i % kLanes in both kernels, and the lanes are combined by the
// same code, so the portable and AVX2 paths give identical bits.
constexpr int kLanes = 16;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Lane state of one block; M is float for 16-bit and 32-bit dtypes (exact), double for F64.
template <class M>
struct Lanes {
  double s[kLanes], q[kLanes];
  M mn[kLanes], mx[kLanes];
  uint64_t zeros = 0, finite = 0;
  Lanes() {
    for (int l = 0; l < kLanes; ++l) {
      s[l] = q[l] = 0.0;
      mn[l] = std::numeric_limits<M>::infinity();
      mx[l] = -std::numeric_limits<M>::infinity();
    }
  }
};

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t bits;
  if (e == 0x1f) {
    bits = sign | 0x7f800000u | (m << 13);
  } else if (e != 0) {
    bits = sign | ((e + 112) << 23) | (m << 13);
  } else {  // zero or subnormal: m * 2^-24 is exact in float
    float f = float(m) * 0x1p-24f;
    std::memcpy(&bits, &f, 4);
    bits |= sign;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <DType D>
inline auto load_one(const unsigned char* p) {
  if constexpr (D == DType::F64) {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  } else if constexpr (D == DType::F32) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  } else {
    uint16_t h;
    std::memcpy(&h, p, 2);
    if constexpr (D == DType::F16) {
      return f16_to_f32(h);
    } else {
      const uint32_t bits = uint32_t(h) << 16;  // bfloat16 is the high half of a float32
      float v;
      std::memcpy(&v, &bits, 4);
      return v;
    }
  }
}

template <DType D>
constexpr size_t item() {
  return D == DType::F64 ? 8 : D == DType::F32 ? 4 : 2;
}

// Elements [i0, n) of a block, one at a time; mirrors the AVX2 lane operations exactly
// (min_ps(w, m) is w < m ? w : m; a non-finite x counts as the shift: d = 0).
template <DType D, class M>
inline void scalar_part(const unsigned char* p, size_t i0, size_t n, M shift, Lanes<M>& L) {
  const double sh = double(shift);
  for (size_t i = i0; i < n; ++i) {
    const M x = load_one<D>(p + i * item<D>());
    const int l = int(i % kLanes);
    const bool fin = std::fabs(x) < std::numeric_limits<M>::infinity();
    const M lo = fin ? x : std::numeric_limits<M>::infinity();
    const M hi = fin ? x : -std::numeric_limits<M>::infinity();
    L.mn[l] = lo < L.mn[l] ? lo : L.mn[l];
    L.mx[l] = hi > L.mx[l] ? hi : L.mx[l];
    L.zeros += x == M(0);
    L.finite += fin;
    const double d = double(fin ? x : shift) - sh;
    L.s[l] += d;
    const double d2 = d * d;
    L.q[l] += d2;
  }
}

template <class M>
TensorStats finish(Lanes<M>& L, size_t n) {
  for (int w = kLanes / 2; w >= 1; w /= 2)  // pairwise: the same tree in every kernel
    for (int l = 0; l < w; ++l) {
      L.s[l] += L.s[l + w];
      L.q[l] += L.q[l + w];
    }
  M mn = L.mn[0], mx = L.mx[0];
  for (int l = 1; l < kLanes; ++l) {
    mn = L.mn[l] < mn ? L.mn[l] : mn;
    mx = L.mx[l] > mx ? L.mx[l] : mx;
  }
  TensorStats r;
  r.count = L.finite;
  r.sum = L.s[0];
  r.sumsq = L.q[0];
  r.min = double(mn);
  r.max = double(mx);
  r.zeros = L.zeros;
  r.nonfinite = n - L.finite;
  return r;
}

template <DType D>
TensorStats block_portable(const unsigned char* p, size_t n, double shift) {
  using M = std::conditional_t<D == DType::F64, double, float>;
  Lanes<M> L;
  scalar_part<D, M>(p, 0, n, M(shift), L);
  return finish(L, n);
}

#ifdef WI_STATS_AVX2
#define WI_AVX2 __attribute__((target("avx2,fma,f16c")))

template <DType D>
WI_AVX2 inline __m256 load8(const unsigned char* p) {
  if constexpr (D == DType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p));
  } else if constexpr (D == DType::F16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  } else {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
  }
}

WI_AVX2 inline __m256i count_mask(__m256i acc, __m256 m) { return _mm256_sub_epi32(acc, _mm256_castps_si256(m)); }

// The total of a vector of counters: 8 uint32 or 4 uint64 lanes.
template <class U>
WI_AVX2 inline uint64_t lane_total(__m256i v) {
  alignas(32) U c[32 / sizeof(U)];
  _mm256_store_si256(reinterpret_cast<__m256i*>(c), v);
  uint64_t t = 0;
  for (U x : c) t += x;
  return t;
}

// F32, F16, BF16: 16 elements per step as two vectors of 8 floats, sums in 4 vectors of 4 doubles.
template <DType D>
WI_AVX2 TensorStats block_avx2_f(const unsigned char* p, size_t n, double shift) {
  const float shf = float(shift);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 pinf = _mm256_set1_ps(std::numeric_limits<float>::infinity()), ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  const __m256 vsh = _mm256_set1_ps(shf), zero = _mm256_setzero_ps();
  const __m256d dsh = _mm256_set1_pd(double(shf));
  __m256 mn[2] = {pinf, pinf}, mx[2] = {ninf, ninf};
  __m256d s[4], q[4];
  for (int k = 0; k < 4; ++k) s[k] = q[k] = _mm256_setzero_pd();
  __m256i zc = _mm256_setzero_si256(), fc = _mm256_setzero_si256();
  const size_t nv = n / kLanes * kLanes;
  for (size_t i = 0; i < nv; i += kLanes) {
    for (int h = 0; h < 2; ++h) {
      const __m256 x = load8<D>(p + (i + 8 * h) * item<D>());
      const __m256 fin = _mm256_cmp_ps(_mm256_and_ps(x, abs_mask), pinf, _CMP_LT_OQ);
      mn[h] = _mm256_min_ps(_mm256_blendv_ps(pinf, x, fin), mn[h]);
      mx[h] = _mm256_max_ps(_mm256_blendv_ps(ninf, x, fin), mx[h]);
      zc = count_mask(zc, _mm256_cmp_ps(x, zero, _CMP_EQ_OQ));
      fc = count_mask(fc, fin);
      const __m256 xs = _mm256_blendv_ps(vsh, x, fin);
      const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(xs)), dsh);
      const __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(xs, 1)), dsh);
      s[2 * h] = _mm256_add_pd(s[2 * h], d0);
      s[2 * h + 1] = _mm256_add_pd(s[2 * h + 1], d1);
      q[2 * h] = _mm256_add_pd(q[2 * h], _mm256_mul_pd(d0, d0));
      q[2 * h + 1] = _mm256_add_pd(q[2 * h + 1], _mm256_mul_pd(d1, d1));
    }
  }
  Lanes<float> L;
  for (int k = 0; k < 4; ++k) {
    _mm256_storeu_pd(L.s + 4 * k, s[k]);
    _mm256_storeu_pd(L.q + 4 * k, q[k]);
  }
  for (int h = 0; h < 2; ++h) {
    _mm256_storeu_ps(L.mn + 8 * h, mn[h]);
    _mm256_storeu_ps(L.mx + 8 * h, mx[h]);
  }
  L.zeros += lane_total<uint32_t>(zc);
  L.finite += lane_total<uint32_t>(fc);
  scalar_part<D, float>(p, nv, n, shf, L);
  return finish(L, n);
}

WI_AVX2 TensorStats block_avx2_f64(const unsigned char* p, size_t n, double shift) {
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  const __m256d pinf = _mm256_set1_pd(kInf), ninf = _mm256_set1_pd(-kInf);
  const __m256d dsh = _mm256_set1_pd(shift), zero = _mm256_setzero_pd();
  __m256d mn[4], mx[4], s[4], q[4];
  for (int k = 0; k < 4; ++k) {
    mn[k] = pinf;
    mx[k] = ninf;
    s[k] = q[k] = zero;
  }
  __m256i zc = _mm256_setzero_si256(), fc = _mm256_setzero_si256();
  const size_t nv = n / kLanes * kLanes;
  for (size_t i = 0; i < nv; i += kLanes) {
    for (int k = 0; k < 4; ++k) {
      const __m256d x = _mm256_loadu_pd(reinterpret_cast<const double*>(p + (i + 4 * k) * 8));
      const __m256d fin = _mm256_cmp_pd(_mm256_and_pd(x, abs_mask), pinf, _CMP_LT_OQ);
      mn[k] = _mm256_min_pd(_mm256_blendv_pd(pinf, x, fin), mn[k]);
      mx[k] = _mm256_max_pd(_mm256_blendv_pd(ninf, x, fin), mx[k]);
      zc = _mm256_sub_epi64(zc, _mm256_castpd_si256(_mm256_cmp_pd(x, zero, _CMP_EQ_OQ)));
      fc = _mm256_sub_epi64(fc, _mm256_castpd_si256(fin));
      const __m256d d = _mm256_sub_pd(_mm256_blendv_pd(dsh, x, fin), dsh);
      s[k] = _mm256_add_pd(s[k], d);
      q[k] = _mm256_add_pd(q[k], _mm256_mul_pd(d, d));
    }
  }
  Lanes<double> L;
  for (int k = 0; k < 4; ++k) {
    _mm256_storeu_pd(L.s + 4 * k, s[k]);
    _mm256_storeu_pd(L.q + 4 * k, q[k]);
    _mm256_storeu_pd(L.mn + 4 * k, mn[k]);
    _mm256_storeu_pd(L.mx + 4 * k, mx[k]);
  }
  L.zeros += lane_total<uint64_t>(zc);
  L.finite += lane_total<uint64_t>(fc);
  scalar_part<DType::F64, double>(p, nv, n, shift, L);
  return finish(L, n);
}
#endif

using BlockFn = TensorStats (*)(const unsigned char*, size_t, double);

BlockFn pick(DType dtype) {
#ifdef WI_STATS_AVX2
  if (std::strcmp(current_isa(), "avx2") == 0) {  // the same switch as the fill kernels
    switch (dtype) {
      case DType::F32: return block_avx2_f<DType::F32>;
      case DType::F64: return block_avx2_f64;
      case DType::F16: return block_avx2_f<DType::F16>;
      case DType::BF16: return block_avx2_f<DType::BF16>;
      default: break;
    }
  }
#endif
  switch (dtype) {
    case DType::F32: return block_portable<DType::F32>;
    case DType::F64: return block_portable<DType::F64>;
    case DType::F16: return block_portable<DType::F16>;
    case DType::BF16: return block_portable<DType::BF16>;
    default: return nullptr;
  }
}

// Neumaier's compensated sum: the block partials of a 10^9-element tensor add without drift.
struct Compensated {
  double s = 0, c = 0;
  void add(double x) {
    const double t = s + x;
    c += std::fabs(s) >= std::fabs(x) ? (s - t) + x : (x - t) + s;
    s = t;
  }
  double value() const { return s + c; }
};

}  // namespace

TensorStats tensor_stats(const void* data, size_t n, DType dtype, double shift, int threads) {
  const BlockFn fn = pick(dtype);
  if (fn == nullptr) throw std::invalid_argument("tensor_stats: dtype must be F32, F64, F16 or BF16");
  if (dtype != DType::F64) {  // the kernels shift in float: a shift float cannot hold becomes 0
    const float f = float(shift);
    shift = std::isfinite(f) ? double(f) : 0.0;
  } else if (!std::isfinite(shift)) {
    shift = 0.0;
  }
  const size_t isz = dtype == DType::F64 ? 8 : dtype == DType::F32 ? 4 : 2;
  const auto* p = static_cast<const unsigned char*>(data);
  const size_t nblocks = (n + kStatsBlock - 1) / kStatsBlock;
  std::vector<TensorStats> part(nblocks);
  if (threads <= 0) threads = default_threads();
  parallel_for(nblocks, threads, [&](size_t b) {
    const size_t lo = b * kStatsBlock, len = std::min(kStatsBlock, n - lo);
    part[b] = fn(p + lo * isz, len, shift);
  });
  TensorStats r;
  r.min = kInf;
  r.max = -kInf;
  Compensated s, q;
  for (const TensorStats& b : part) {  // in block order: the same result for any thread count
    r.count += b.count;
    r.zeros += b.zeros;
    r.nonfinite += b.nonfinite;
    s.add(b.sum);
    q.add(b.sumsq);
    r.min = b.min < r.min ? b.min : r.min;
    r.max = b.max > r.max ? b.max : r.max;
  }
  r.sum = s.value();
  r.sumsq = q.value();
  return r;
}

}  // namespace weightinit
