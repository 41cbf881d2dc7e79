// Chunk kernels: each writes whole chunks of kChunk consecutive elements of the stream, chunk c
// being elements [kChunk c, kChunk (c + 1)). One table per ISA; fill.cpp picks one at run time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "distributions.hpp"

namespace weightinit {

enum class Dist : int { Bits = 0, Uniform = 1, Normal = 2, TruncNormal = 3 };
enum class DType : int { F32 = 0, F64 = 1, F16 = 2, BF16 = 3, U32 = 4 };

constexpr size_t kChunk = 128;  // 32 Philox blocks of float32, 64 of float64

using ChunkKernel = void (*)(const DistParams& params, uint64_t first_chunk, size_t nchunks, void* out);
// Writes nbytes of a 32-byte periodic pattern (the element's bytes repeated), out aligned to the element.
using PatternKernel = void (*)(void* out, size_t nbytes, const unsigned char* pattern32);

struct KernelTable {
  const char* name;
  ChunkKernel bits;
  ChunkKernel uniform[4];  // indexed by DType F32, F64, F16, BF16
  ChunkKernel normal[4];
  ChunkKernel trunc_normal[4];
  PatternKernel pattern;
};

const KernelTable& kernels_portable();
#if defined(WI_HAVE_AVX2) || defined(__AVX2__)
const KernelTable& kernels_avx2();
#endif

}  // namespace weightinit

namespace weightinit {

// Point kernels: out[i] = element elems[i] of the stream (any indices, any order), each computed
// from the one Philox block holding its words and nothing around it: the ends of a box's runs,
// and runs too short to fill a chunk (a 1-column box is all ends).
using PointKernel = void (*)(const DistParams& params, const uint64_t* elems, size_t n, void* out);
// Column kernels: out[i] = element first + i * step for i < n (a box's column: one element per
// row), the point kernels' values with the indices formed in the loop instead of read from a list.
struct Column {
  uint64_t first, step;
};
using ColumnKernel = void (*)(const DistParams& params, Column col, size_t n, void* out);
// Element i of a point kernel's indices: a list, or a column.
inline uint64_t element(const uint64_t* elems, size_t i) { return elems[i]; }
inline uint64_t element(Column col, size_t i) { return col.first + i * col.step; }
// Span kernels: out[i] = element first + i for i < n, from the Philox blocks holding them (each once,
// at any block alignment): a run's ends, where a whole chunk would compute elements outside the box.
using SpanKernel = void (*)(const DistParams& params, uint64_t first, size_t n, void* out);
// Block kernels: every value of each of the Philox blocks blocks[0 .. n), in order (4 per block for
// float32, float16, bfloat16 and bits, 2 for float64): the narrow runs of many rows at once.
using BlockKernel = void (*)(const DistParams& params, const uint64_t* blocks, size_t n, void* out);

template <class Kernel>
struct DistTable {
  const char* name;
  Kernel bits;
  Kernel uniform[4];  // indexed by DType F32, F64, F16, BF16
  Kernel normal[4];
  Kernel trunc_normal[4];
};
using PointTable = DistTable<PointKernel>;
using ColumnTable = DistTable<ColumnKernel>;
using SpanTable = DistTable<SpanKernel>;
using BlockTable = DistTable<BlockKernel>;

const PointTable& points_portable();
const ColumnTable& columns_portable();
const SpanTable& spans_portable();
const BlockTable& blocks_portable();
#if defined(WI_HAVE_AVX2) || defined(__AVX2__)
const PointTable& points_avx2();
const ColumnTable& columns_avx2();
const SpanTable& spans_avx2();
const BlockTable& blocks_avx2();
#endif

}  // namespace weightinit
