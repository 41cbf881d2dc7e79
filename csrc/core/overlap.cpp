#include "overlap.hpp"

#include <algorithm>
#include <vector>

namespace weightinit {
namespace {

struct Axis {
  uint64_t stride, extent;  // |stride| in bytes, extent > 1
};

// Every element's first byte relative to the lowest one, sorted; the view overlaps iff two
// neighbours are closer than an element.
bool offsets_collide(const Axis* ax, int n, uint64_t size, size_t itemsize) {
  std::vector<uint64_t> off(size_t(size), 0);
  size_t filled = 1;
  for (int k = 0; k < n; ++k) {
    for (uint64_t i = 1; i < ax[k].extent; ++i)
      for (size_t j = 0; j < filled; ++j) off[size_t(i) * filled + j] = off[j] + i * ax[k].stride;
    filled *= size_t(ax[k].extent);
  }
  std::sort(off.begin(), off.end());
  for (size_t j = 1; j < off.size(); ++j)
    if (off[j] - off[j - 1] < itemsize) return true;
  return false;
}

}  // namespace

bool has_internal_overlap(int ndim, const int64_t* shape, const int64_t* strides, size_t itemsize) {
  Axis ax[64];
  int n = 0;
  uint64_t size = 1;
  bool size_capped = false;
  for (int i = 0; i < ndim; ++i)
    if (shape[i] == 0) return false;  // no elements (NumPy may give such views zero strides)
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] == 1) continue;
    if (strides[i] == 0 || n == 64) return true;
    const uint64_t s = strides[i] < 0 ? uint64_t(0) - uint64_t(strides[i]) : uint64_t(strides[i]);
    ax[n++] = {s, uint64_t(shape[i])};
    size_capped = size_capped || __builtin_mul_overflow(size, uint64_t(shape[i]), &size);
  }
  // Sufficient: sorted by stride, each axis steps past everything the smaller axes span, so
  // its copies of that block are disjoint.
  std::sort(ax, ax + n, [](const Axis& a, const Axis& b) { return a.stride < b.stride; });
  uint64_t span = itemsize;
  int k = 0;
  for (; k < n && ax[k].stride >= span; ++k) {
    uint64_t reach;
    if (__builtin_mul_overflow(ax[k].stride, ax[k].extent - 1, &reach) || __builtin_add_overflow(span, reach, &span))
      return ++k < n;  // spans past 2**64 bytes: only the largest axis may do so
  }
  if (k == n) return false;
  if (size_capped || size > kOverlapExactMax) return true;
  for (uint64_t reach; k < n; ++k)  // offsets must fit the exact check's uint64
    if (__builtin_mul_overflow(ax[k].stride, ax[k].extent - 1, &reach) || __builtin_add_overflow(span, reach, &span))
      return true;
  return offsets_collide(ax, n, size, itemsize);
}

}  // namespace weightinit
