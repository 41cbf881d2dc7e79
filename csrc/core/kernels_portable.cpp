// Portable kernels: one Philox block at a time, scalar lanes. The reference the SIMD path must
// match bit for bit (same templates, same operation order).
#include <cstring>

#include "kernels.hpp"
#include "philox.hpp"

namespace weightinit {
namespace {
using namespace dist;

void bits(const DistParams& P, uint64_t c0, size_t nc, void* out) {
  uint32_t* o = static_cast<uint32_t*>(out);
  for (uint64_t b = c0 * (kChunk / 4), e = b + nc * (kChunk / 4); b != e; ++b, o += 4) {
    const Block w = philox4x32_10({uint32_t(b), uint32_t(b >> 32), P.s0, P.s1}, P.k0, P.k1);
    std::memcpy(o, w.data(), 16);
  }
}

Block block(const DistParams& P, uint64_t b) {
  return philox4x32_10({uint32_t(b), uint32_t(b >> 32), P.s0, P.s1}, P.k0, P.k1);
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

}  // namespace

const KernelTable& kernels_portable() { return kTable; }

}  // namespace weightinit
