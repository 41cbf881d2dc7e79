// Portable kernels: one Philox block at a time, scalar lanes. The reference the SIMD path must
// match bit for bit (same templates, same operation order).
#include <algorithm>
#include <cstring>

#include "kernels.hpp"
#include "philox.hpp"

namespace weightinit {
namespace {
using namespace dist;

void bits(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  uint32_t* o = static_cast<uint32_t*>(out);
  for (uint64_t b = c0 * (kChunk / 4), e = b + nc * (kChunk / 4); b != e; ++b, o += 4) {
    const Block w = P.key.block(b);
    std::memcpy(o, w.data(), 16);
  }
}

Block block(const DistParams& P, uint64_t b) {
  return P.key.block(b);
}

void uniform_f32(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  float* o = static_cast<float*>(out);
  for (uint64_t b = c0 * (kChunk / 4), e = b + nc * (kChunk / 4); b != e; ++b, o += 4) {
    const Block w = block(P, b);
    for (int k = 0; k < 4; ++k) o[k] = affine(u01_f32<float>(w[k]), P.lo32, P.scale32);
  }
}

void normal_f32(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  float* o = static_cast<float*>(out);
  for (uint64_t b = c0 * (kChunk / 4), e = b + nc * (kChunk / 4); b != e; ++b, o += 4) {
    const Block w = block(P, b);
    float z[4];
    box_muller_f32<float>(w[0], w[1], z[0], z[1]);
    box_muller_f32<float>(w[2], w[3], z[2], z[3]);
    for (int k = 0; k < 4; ++k) o[k] = affine(z[k], P.lo32, P.scale32);
  }
}

void trunc_f32_k(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  float* o = static_cast<float*>(out);
  for (uint64_t b = c0 * (kChunk / 4), e = b + nc * (kChunk / 4); b != e; ++b, o += 4) {
    const Block w = block(P, b);
    for (int k = 0; k < 4; ++k) o[k] = trunc_f32_word(w[k], P);
  }
}

void uniform_f64(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  double* o = static_cast<double*>(out);
  for (uint64_t b = c0 * (kChunk / 2), e = b + nc * (kChunk / 2); b != e; ++b, o += 2) {
    const Block w = block(P, b);
    o[0] = affine(u01_f64(w[0], w[1]), P.lo64, P.scale64);
    o[1] = affine(u01_f64(w[2], w[3]), P.lo64, P.scale64);
  }
}

void normal_f64(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  double* o = static_cast<double*>(out);
  for (uint64_t b = c0 * (kChunk / 2), e = b + nc * (kChunk / 2); b != e; ++b, o += 2) {
    const Block w = block(P, b);
    double z0, z1;
    box_muller_f64(u01_f64(w[0], w[1]) + 0x1p-53, u01_f64(w[2], w[3]), z0, z1);
    o[0] = affine(z0, P.lo64, P.scale64);
    o[1] = affine(z1, P.lo64, P.scale64);
  }
}

void trunc_f64_k(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  double* o = static_cast<double*>(out);
  for (uint64_t b = c0 * (kChunk / 2), e = b + nc * (kChunk / 2); b != e; ++b, o += 2) {
    const Block w = block(P, b);
    o[0] = trunc_f64(u01_f64(w[0], w[1]) + 0x1p-54, u01_f64(~w[0], ~w[1]) + 0x1p-54, P);
    o[1] = trunc_f64(u01_f64(w[2], w[3]) + 0x1p-54, u01_f64(~w[2], ~w[3]) + 0x1p-54, P);
  }
}

// 16-bit outputs: the float32 chunk, rounded to nearest even.
template <ChunkKernel K, uint16_t (*Round)(float)>
void half_kernel(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  uint16_t* o = static_cast<uint16_t*>(out);
  float tmp[kChunk];
  for (size_t c = 0; c < nc; ++c, o += kChunk) {
    K(P, c0 + c, 1, tmp);
    for (size_t k = 0; k < kChunk; ++k) o[k] = Round(tmp[k]);
  }
}

void pattern(void* out, size_t nbytes, const unsigned char* pat) {
  unsigned char* o = static_cast<unsigned char*>(out);
  for (; nbytes >= 32; nbytes -= 32, o += 32) std::memcpy(o, pat, 32);
  std::memcpy(o, pat, nbytes);
}

const KernelTable kTable = {
    "portable",
    bits,
    {uniform_f32, uniform_f64, half_kernel<uniform_f32, f32_to_f16>, half_kernel<uniform_f32, f32_to_bf16>},
    {normal_f32, normal_f64, half_kernel<normal_f32, f32_to_f16>, half_kernel<normal_f32, f32_to_bf16>},
    {trunc_f32_k, trunc_f64_k, half_kernel<trunc_f32_k, f32_to_f16>, half_kernel<trunc_f32_k, f32_to_bf16>},
    pattern,
};

// ---- point kernels: element e alone, from block e / 4 (float32 words) or e / 2 (float64) ----
float uniform_f32_at(const DistParams& P, uint64_t e) {
  return affine(u01_f32<float>(block(P, e >> 2)[e & 3]), P.lo32, P.scale32);
}
float normal_f32_at(const DistParams& P, uint64_t e) {
  const Block w = block(P, e >> 2);
  const size_t j = size_t(e & 2);  // its pair: words 0, 1 or 2, 3
  float z0, z1;
  box_muller_f32<float>(w[j], w[j + 1], z0, z1);
  return affine(e & 1 ? z1 : z0, P.lo32, P.scale32);
}
float trunc_f32_at(const DistParams& P, uint64_t e) { return trunc_f32_word(block(P, e >> 2)[e & 3], P); }
double uniform_f64_at(const DistParams& P, uint64_t e) {
  const Block w = block(P, e >> 1);
  const size_t j = size_t(e & 1) * 2;
  return affine(u01_f64(w[j], w[j + 1]), P.lo64, P.scale64);
}
double normal_f64_at(const DistParams& P, uint64_t e) {
  const Block w = block(P, e >> 1);
  double z0, z1;
  box_muller_f64(u01_f64(w[0], w[1]) + 0x1p-53, u01_f64(w[2], w[3]), z0, z1);
  return affine(e & 1 ? z1 : z0, P.lo64, P.scale64);
}
double trunc_f64_at(const DistParams& P, uint64_t e) {
  const Block w = block(P, e >> 1);
  const size_t j = size_t(e & 1) * 2;
  return trunc_f64(u01_f64(w[j], w[j + 1]) + 0x1p-54, u01_f64(~w[j], ~w[j + 1]) + 0x1p-54, P);
}

void bits_at(const DistParams& P, const uint64_t* e, size_t n, void* out) {
  uint32_t* o = static_cast<uint32_t*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = block(P, e[i] >> 2)[e[i] & 3];
}
void bits_column(const DistParams& P, Column c, size_t n, void* out) {
  uint32_t* o = static_cast<uint32_t*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = block(P, element(c, i) >> 2)[element(c, i) & 3];
}
template <class T, T (*Value)(const DistParams&, uint64_t), class Src = const uint64_t*>
void points(const DistParams& P, Src e, size_t n, void* out) {
  T* o = static_cast<T*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = Value(P, element(e, i));
}
template <float (*Value)(const DistParams&, uint64_t), uint16_t (*Round)(float), class Src = const uint64_t*>
void half_points(const DistParams& P, Src e, size_t n, void* out) {
  uint16_t* o = static_cast<uint16_t*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = Round(Value(P, element(e, i)));
}

const PointTable kPoints = {
    "portable",
    bits_at,
    {points<float, uniform_f32_at>, points<double, uniform_f64_at>, half_points<uniform_f32_at, f32_to_f16>,
     half_points<uniform_f32_at, f32_to_bf16>},
    {points<float, normal_f32_at>, points<double, normal_f64_at>, half_points<normal_f32_at, f32_to_f16>,
     half_points<normal_f32_at, f32_to_bf16>},
    {points<float, trunc_f32_at>, points<double, trunc_f64_at>, half_points<trunc_f32_at, f32_to_f16>,
     half_points<trunc_f32_at, f32_to_bf16>},
};

const ColumnTable kColumns = {
    "portable",
    bits_column,
    {points<float, uniform_f32_at, Column>, points<double, uniform_f64_at, Column>,
     half_points<uniform_f32_at, f32_to_f16, Column>, half_points<uniform_f32_at, f32_to_bf16, Column>},
    {points<float, normal_f32_at, Column>, points<double, normal_f64_at, Column>,
     half_points<normal_f32_at, f32_to_f16, Column>, half_points<normal_f32_at, f32_to_bf16, Column>},
    {points<float, trunc_f32_at, Column>, points<double, trunc_f64_at, Column>,
     half_points<trunc_f32_at, f32_to_f16, Column>, half_points<trunc_f32_at, f32_to_bf16, Column>},
};

// Spans, element by element: the reference the AVX2 span kernels must match.
void bits_span(const DistParams& P, uint64_t first, size_t n, void* out) {
  uint32_t* o = static_cast<uint32_t*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = block(P, (first + i) >> 2)[(first + i) & 3];
}
template <class T, T (*Value)(const DistParams&, uint64_t)>
void span(const DistParams& P, uint64_t first, size_t n, void* out) {
  T* o = static_cast<T*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = Value(P, first + i);
}
template <float (*Value)(const DistParams&, uint64_t), uint16_t (*Round)(float)>
void half_span(const DistParams& P, uint64_t first, size_t n, void* out) {
  uint16_t* o = static_cast<uint16_t*>(out);
  for (size_t i = 0; i < n; ++i) o[i] = Round(Value(P, first + i));
}

const SpanTable kSpans = {
    "portable",
    bits_span,
    {span<float, uniform_f32_at>, span<double, uniform_f64_at>, half_span<uniform_f32_at, f32_to_f16>,
     half_span<uniform_f32_at, f32_to_bf16>},
    {span<float, normal_f32_at>, span<double, normal_f64_at>, half_span<normal_f32_at, f32_to_f16>,
     half_span<normal_f32_at, f32_to_bf16>},
    {span<float, trunc_f32_at>, span<double, trunc_f64_at>, half_span<trunc_f32_at, f32_to_f16>,
     half_span<trunc_f32_at, f32_to_bf16>},
};

// Blocks, element by element: block b holds elements b * PerBlock .. b * PerBlock + PerBlock - 1.
template <PointKernel K, uint64_t PerBlock>
void block_values(const DistParams& P, const uint64_t* blocks, size_t n, void* out) {
  constexpr size_t kBatch = 64;
  uint64_t e[kBatch * PerBlock];
  constexpr size_t isz = PerBlock == 4 ? 4 : 8;  // float32 and bits, or float64
  for (size_t i0 = 0; i0 < n; i0 += kBatch) {
    const size_t m = std::min(kBatch, n - i0);
    for (size_t i = 0; i < m; ++i)
      for (uint64_t j = 0; j < PerBlock; ++j) e[i * PerBlock + j] = blocks[i0 + i] * PerBlock + j;
    K(P, e, m * PerBlock, static_cast<char*>(out) + i0 * PerBlock * isz);
  }
}
template <PointKernel K>
void half_block_values(const DistParams& P, const uint64_t* blocks, size_t n, void* out) {
  uint64_t e[4];
  for (size_t i = 0; i < n; ++i) {
    for (uint64_t j = 0; j < 4; ++j) e[j] = blocks[i] * 4 + j;
    K(P, e, 4, static_cast<uint16_t*>(out) + 4 * i);
  }
}

const BlockTable kBlocks = {
    "portable",
    block_values<bits_at, 4>,
    {block_values<points<float, uniform_f32_at>, 4>, block_values<points<double, uniform_f64_at>, 2>,
     half_block_values<half_points<uniform_f32_at, f32_to_f16>>, half_block_values<half_points<uniform_f32_at, f32_to_bf16>>},
    {block_values<points<float, normal_f32_at>, 4>, block_values<points<double, normal_f64_at>, 2>,
     half_block_values<half_points<normal_f32_at, f32_to_f16>>, half_block_values<half_points<normal_f32_at, f32_to_bf16>>},
    {block_values<points<float, trunc_f32_at>, 4>, block_values<points<double, trunc_f64_at>, 2>,
     half_block_values<half_points<trunc_f32_at, f32_to_f16>>, half_block_values<half_points<trunc_f32_at, f32_to_bf16>>},
};

}  // namespace

const KernelTable& kernels_portable() { return kTable; }
const PointTable& points_portable() { return kPoints; }
const ColumnTable& columns_portable() { return kColumns; }
const SpanTable& spans_portable() { return kSpans; }
const BlockTable& blocks_portable() { return kBlocks; }

}  // namespace weightinit
