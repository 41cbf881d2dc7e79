// One-pass statistics of a contiguous buffer of floating-point elements (what `inspect` reports),
// deterministic for any thread count: fixed blocks reduced independently, partials combined in order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels.hpp"

namespace weightinit {

struct TensorStats {
  uint64_t count = 0;      // finite elements
  double sum = 0;          // sum of (x - shift) over finite x
  double sumsq = 0;        // sum of (x - shift)^2 over finite x
  double min = 0, max = 0; // of finite x (+inf / -inf when there is none)
  uint64_t zeros = 0;      // x == 0 (either sign)
  uint64_t nonfinite = 0;  // nan or +-inf
};

// Elements per block: the unit of work and of the fixed reduction order.
constexpr size_t kStatsBlock = size_t(1) << 16;

// Statistics of n elements of dtype (F32, F64, F16 or BF16) at data (any alignment). Shifting by a
// value near the mean (e.g. the first element) keeps the variance sum free of cancellation.
TensorStats tensor_stats(const void* data, size_t n, DType dtype, double shift, int threads);

}  // namespace weightinit
