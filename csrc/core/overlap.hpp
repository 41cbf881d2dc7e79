// Internal overlap of a strided view (NumPy's term): whether two of its elements share a byte.
// A parallel fill of such a view has no defined result, so every entry point refuses one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weightinit {

// True if two distinct elements of the view (shape, strides in bytes, any sign) share a byte,
// zero strides included. Exact for views up to kOverlapExactMax elements; larger views that
// fail the cheap sufficient test (any slice, transpose or reversal of a contiguous array
// passes it) are reported as overlapping.
bool has_internal_overlap(int ndim, const int64_t* shape, const int64_t* strides, size_t itemsize);

constexpr uint64_t kOverlapExactMax = uint64_t(1) << 20;

}  // namespace weightinit
