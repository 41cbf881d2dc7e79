// Element ranges -> chunks -> threads. Plain C++17: the bindings translate a NumPy array into a
// FillTarget, validated, and call one of these with the GIL released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels.hpp"

namespace weightinit {

// A strided view of memory, elements in C order of `shape`.
struct FillTarget {
  char* data = nullptr;
  int ndim = 0;
  const int64_t* shape = nullptr;
  const int64_t* strides = nullptr;  // bytes, may be negative
  size_t itemsize = 0;
  DType dtype = DType::F32;
};

struct RandomSpec {
  Dist dist = Dist::Uniform;
  uint64_t seed = 0;
  uint64_t stream = 0;
  uint64_t offset = 0;  // element o of the unshifted stream lands at element 0
  double p0 = 0, p1 = 0, p2 = 0, p3 = 0;  // uniform (lo, hi); normal (mean, std); trunc (mean, std, a, b)
};

void fill_random(const FillTarget& target, const RandomSpec& spec, int threads);
// A box of a global C-order tensor of ndim = target.ndim dims: target is the box (its shape the
// box's extents), and its element idx gets the value of global element start + idx, which is
// element spec.offset + ravel(start + idx, global_shape) of the stream. Each run of the box along
// its last axis is a run of the stream; whole chunks of it go through the chunk kernels, its ends
// (and runs shorter than a chunk) through the point kernels, so no element outside the box is
// computed beyond the words its Philox block shares. The caller checks start + shape <= global_shape
// and that the global tensor's last stream element fits in uint64.
void fill_random_box(const FillTarget& target, const RandomSpec& spec, const uint64_t* global_shape,
                     const uint64_t* start, int threads);
// Writes the element `value` (itemsize bytes) everywhere.
void fill_constant(const FillTarget& target, const void* value, int threads);

// Sparse patterns: for each unit u in [0, units), marks (mask[u * members + m] = 1) the k
// members with the smallest keys, key(u, m) = (word ((first_unit + u) * members + m) of the
// stream << 32) | m, and clears the others. Units run in parallel; the result is a pure
// function of (seed, stream, first_unit + u), whatever the thread count.
void select_smallest(unsigned char* mask, uint64_t units, uint64_t members, uint64_t k, uint64_t seed,
                     uint64_t stream, uint64_t first_unit, int threads);
// The same selection (first_unit 0), applied in place: of a strided (units, members) array (element
// (u, m) at data + u unit_stride + m member_stride, strides in bytes), the selected elements
// (zero_selected) or the others are set to zero bytes; the rest is left as it is.
void zero_by_selection(char* data, int64_t unit_stride, int64_t member_stride, size_t itemsize, uint64_t units,
                       uint64_t members, uint64_t k, bool zero_selected, uint64_t seed, uint64_t stream,
                       int threads);

// Run-time ISA selection: "auto" picks the best the CPU supports (and WEIGHTINIT_ISA, if set,
// may force "portable"); returns false for an unknown or unsupported name.
bool set_isa(const std::string& name);
const char* current_isa();
bool isa_supported(const std::string& name);

}  // namespace weightinit
