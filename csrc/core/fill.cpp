#include "fill.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "thread_pool.hpp"

namespace weightinit {
namespace {

// ---- ISA dispatch ----
bool cpu_has_avx2() {
#if defined(WI_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

const KernelTable* best_table() {
#if defined(WI_HAVE_AVX2)
  const char* env = std::getenv("WEIGHTINIT_ISA");
  if (env && std::string(env) == "portable") return &kernels_portable();
  if (cpu_has_avx2()) return &kernels_avx2();
#endif
  return &kernels_portable();
}

std::atomic<const KernelTable*> g_table{nullptr};

const KernelTable& table() {
  const KernelTable* t = g_table.load(std::memory_order_acquire);
  if (t == nullptr) {
    t = best_table();
    g_table.store(t, std::memory_order_release);
  }
  return *t;
}

// ---- work split ----
// Below this many elements a fill stays on the calling thread (pool hand-off costs more).
constexpr uint64_t kParallelMin = uint64_t(1) << 16;
constexpr uint64_t kNontemporalBytes = uint64_t(8) << 20;
// Elements per task: a multiple of the chunk, big enough to amortize scheduling.
constexpr uint64_t kTask = uint64_t(1) << 16;
// Strided runs are generated into a stack buffer of this many elements (16 KiB of float64), then scattered.
constexpr uint64_t kScatterBlock = 2048;

int effective_threads(int threads, uint64_t n) {
  if (n < kParallelMin) return 1;  // first: default_threads() reads the environment (0.5 us)
  if (threads <= 0) threads = default_threads();
  const uint64_t tasks = (n + kTask - 1) / kTask;
  return int(std::min<uint64_t>(uint64_t(threads), tasks));
}

// The kernel of a distribution and dtype in a table of chunk kernels or of point kernels.
template <class Table>
auto kernel_for(const Table& K, Dist dist, DType dtype) -> decltype(K.bits) {
  if (dist == Dist::Bits) return K.bits;
  const int d = int(dtype);
  switch (dist) {
    case Dist::Uniform: return K.uniform[d];
    case Dist::Normal: return K.normal[d];
    default: return K.trunc_normal[d];
  }
}

// Writes stream elements [first, first + n) to contiguous memory.
void generate(ChunkKernel kern, const DistParams& P, char* out, size_t isz, uint64_t first, uint64_t n) {
  alignas(64) unsigned char tmp[kChunk * 8];
  uint64_t done = 0;
  const uint64_t r = first % kChunk;
  if (r != 0) {
    kern(P, first / kChunk, 1, tmp);
    done = std::min<uint64_t>(kChunk - r, n);
    std::memcpy(out, tmp + r * isz, done * isz);
  }
  const uint64_t full = (n - done) / kChunk;
  if (full) {
    kern(P, (first + done) / kChunk, full, out + done * isz);
    done += full * kChunk;
  }
  if (done < n) {
    kern(P, (first + done) / kChunk, 1, tmp);
    std::memcpy(out + done * isz, tmp, (n - done) * isz);
  }
}

// Drops size-1 dims and merges dims that are contiguous with each other, so a C-contiguous
// array becomes one dim and x[:, :k] two.
struct Layout {
  static constexpr int kMax = 64;
  int ndim = 0;
  int64_t shape[kMax], strides[kMax];
  uint64_t size = 1;
};

Layout simplify(const FillTarget& t) {
  Layout L;
  for (int i = 0; i < t.ndim && i < Layout::kMax; ++i) {
    L.size *= uint64_t(t.shape[i]);
    if (t.shape[i] == 1) continue;
    if (L.ndim > 0 && L.strides[L.ndim - 1] == t.strides[i] * t.shape[i]) {
      L.shape[L.ndim - 1] *= t.shape[i];
      L.strides[L.ndim - 1] = t.strides[i];
    } else {
      L.shape[L.ndim] = t.shape[i];
      L.strides[L.ndim] = t.strides[i];
      ++L.ndim;
    }
  }
  if (L.ndim == 0) {
    L.shape[0] = 1;
    L.strides[0] = int64_t(t.itemsize);
    L.ndim = 1;
  }
  return L;
}

// Visits the elements [begin, end) of the logical C order as runs along the last dim:
// visit(pointer to first element, its logical index, run length, element stride in bytes).
template <class Visit>
void for_runs(char* data, const Layout& L, uint64_t begin, uint64_t end, Visit visit) {
  const int nd = L.ndim;
  const uint64_t inner = uint64_t(L.shape[nd - 1]);
  const int64_t inner_stride = L.strides[nd - 1];
  uint64_t e = begin;
  while (e < end) {
    uint64_t row = e / inner;
    const uint64_t col = e % inner;
    char* p = data;
    for (int d = nd - 2; d >= 0; --d) {
      const uint64_t ext = uint64_t(L.shape[d]);
      p += int64_t(row % ext) * L.strides[d];
      row /= ext;
    }
    const uint64_t len = std::min<uint64_t>(inner - col, end - e);
    visit(p + int64_t(col) * inner_stride, e, len, inner_stride);
    e += len;
  }
}

inline void scatter(char* dst, int64_t stride, const unsigned char* src, size_t isz, uint64_t n) {
  switch (isz) {
    case 2:
      for (uint64_t k = 0; k < n; ++k, dst += stride) std::memcpy(dst, src + 2 * k, 2);
      break;
    case 4:
      for (uint64_t k = 0; k < n; ++k, dst += stride) std::memcpy(dst, src + 4 * k, 4);
      break;
    default:
      for (uint64_t k = 0; k < n; ++k, dst += stride) std::memcpy(dst, src + isz * k, isz);
  }
}

bool aligned(const void* p, size_t a) { return (reinterpret_cast<uintptr_t>(p) % a) == 0; }

DistParams make_params(const RandomSpec& s) {
  DistParams P;
  P.key = StreamKey(s.seed, s.stream);
  switch (s.dist) {
    case Dist::Bits: break;
    case Dist::Uniform:
      P.lo64 = s.p0;
      P.scale64 = s.p1 - s.p0;
      break;
    case Dist::Normal:
    case Dist::TruncNormal:
      P.lo64 = s.p0;
      P.scale64 = s.p1;
      break;
  }
  if (s.dist == Dist::TruncNormal) {
    const double mean = s.p0, sd = s.p1, a = s.p2, b = s.p3;
    const double alpha = (a - mean) / sd, beta = (b - mean) / sd;
    // Phi and its complement from erfc, each accurate in its own tail.
    const double pa = 0.5 * std::erfc(-alpha * M_SQRT1_2), pb = 0.5 * std::erfc(-beta * M_SQRT1_2);
    const double qa = 0.5 * std::erfc(alpha * M_SQRT1_2), qb = 0.5 * std::erfc(beta * M_SQRT1_2);
    P.pa64 = pa;
    P.dp64 = pb - pa;
    P.qb64 = qb;
    P.dq64 = qa - qb;
    P.alpha64 = alpha;
    P.beta64 = beta;
    P.a64 = a;
    P.b64 = b;
  }
  P.lo32 = float(P.lo64);
  P.scale32 = s.dist == Dist::Uniform ? float(s.p1 - s.p0) : float(P.scale64);
  P.pa32 = float(P.pa64);
  P.dp32 = float(P.dp64);
  P.qb32 = float(P.qb64);
  P.dq32 = float(P.dq64);
  P.alpha32 = float(P.alpha64);
  P.beta32 = float(P.beta64);
  P.a32 = float(P.a64);
  P.b32 = float(P.b64);
  return P;
}

}  // namespace

bool isa_supported(const std::string& name) {
  if (name == "portable" || name == "auto") return true;
  if (name == "avx2") return cpu_has_avx2();
  return false;
}

bool set_isa(const std::string& name) {
  if (!isa_supported(name)) return false;
  if (name == "portable") g_table.store(&kernels_portable());
#if defined(WI_HAVE_AVX2)
  else if (name == "avx2") g_table.store(&kernels_avx2());
#endif
  else g_table.store(best_table());
  return true;
}

const char* current_isa() { return table().name; }

void fill_random(const FillTarget& t, const RandomSpec& spec, int threads) {
  const Layout L = simplify(t);
  const uint64_t n = L.size;
  if (n == 0) return;
  const KernelTable& K = table();
  const ChunkKernel kern = kernel_for(K, spec.dist, t.dtype);
  const size_t isz = t.itemsize;

  // A truncated normal of zero width or zero std is the constant clamp(mean, a, b).
  if (spec.dist == Dist::TruncNormal && (spec.p1 == 0.0 || spec.p2 == spec.p3)) {
    const double v = spec.p2 == spec.p3 ? spec.p2 : std::min(std::max(spec.p0, spec.p2), spec.p3);
    unsigned char bytes[8];
    switch (t.dtype) {
      case DType::F32: { const float f = float(v); std::memcpy(bytes, &f, 4); break; }
      case DType::F64: std::memcpy(bytes, &v, 8); break;
      case DType::F16: { const uint16_t h = dist::f32_to_f16(float(v)); std::memcpy(bytes, &h, 2); break; }
      case DType::BF16: { const uint16_t h = dist::f32_to_bf16(float(v)); std::memcpy(bytes, &h, 2); break; }
      default: throw std::invalid_argument("fill_random: a truncated normal needs a float dtype");
    }
    fill_constant(t, bytes, threads);
    return;
  }
  DistParams P = make_params(spec);
  // Past the last-level cache share of a core, write around the caches (no read-for-ownership).
  P.nontemporal = n * isz >= kNontemporalBytes;
  const int nthreads = effective_threads(threads, n);
  const uint64_t ntasks = (n + kTask - 1) / kTask;
  const bool contiguous = L.ndim == 1 && L.strides[0] == int64_t(isz) && aligned(t.data, isz);

  auto task = [&](size_t i) {
    const uint64_t begin = uint64_t(i) * kTask, end = std::min(n, begin + kTask);
    if (contiguous) {
      generate(kern, P, t.data + begin * isz, isz, spec.offset + begin, end - begin);
      return;
    }
    for_runs(t.data, L, begin, end, [&](char* p, uint64_t e, uint64_t len, int64_t stride) {
      if (stride == int64_t(isz) && aligned(p, isz)) {
        generate(kern, P, p, isz, spec.offset + e, len);
        return;
      }
      alignas(64) unsigned char buf[kScatterBlock * 8];
      for (uint64_t k = 0; k < len; k += kScatterBlock) {
        const uint64_t m = std::min<uint64_t>(kScatterBlock, len - k);
        generate(kern, P, reinterpret_cast<char*>(buf), isz, spec.offset + e + k, m);
        scatter(p + int64_t(k) * stride, stride, buf, isz, m);
      }
    });
  };
  parallel_for(size_t(ntasks), nthreads, task);
}

namespace {
const PointTable& point_table() {
#if defined(WI_HAVE_AVX2)
  if (&table() == &kernels_avx2()) return points_avx2();
#endif
  return points_portable();
}

const ColumnTable& column_table() {
#if defined(WI_HAVE_AVX2)
  if (&table() == &kernels_avx2()) return columns_avx2();
#endif
  return columns_portable();
}

const SpanTable& span_table() {
#if defined(WI_HAVE_AVX2)
  if (&table() == &kernels_avx2()) return spans_avx2();
#endif
  return spans_portable();
}

const BlockTable& block_table() {
#if defined(WI_HAVE_AVX2)
  if (&table() == &kernels_avx2()) return blocks_avx2();
#endif
  return blocks_portable();
}

// A span kernel computes Philox blocks 32 at a time: below this many blocks a run's piece is
// cheaper through the point kernels (batched across runs), one block per element.
constexpr uint64_t kSpanMinBlocks = 16;

// The values of stream elements elems[0 .. n) to dst[0 .. n), through vals (n * 8 bytes).
void put_points(PointKernel kern, const DistParams& P, const uint64_t* elems, char* const* dst, size_t n,
                size_t isz, unsigned char* vals) {
  kern(P, elems, n, vals);
  switch (isz) {  // fixed-size copies: one move each, not a call
    case 2: for (size_t i = 0; i < n; ++i) std::memcpy(dst[i], vals + 2 * i, 2); break;
    case 4: for (size_t i = 0; i < n; ++i) std::memcpy(dst[i], vals + 4 * i, 4); break;
    default: for (size_t i = 0; i < n; ++i) std::memcpy(dst[i], vals + 8 * i, 8);
  }
}

// Elements queued for the point kernel with where each goes; flushed when full.
class PointQueue {
 public:
  PointQueue(PointKernel kern, const DistParams& P, size_t isz) : kern_(kern), P_(P), isz_(isz) {}
  void push(uint64_t element, char* dst) {
    elems_[n_] = element;
    dst_[n_++] = dst;
    if (n_ == kCap) flush();
  }
  void flush() {
    if (n_ == 0) return;
    put_points(kern_, P_, elems_, dst_, n_, isz_, vals_);
    n_ = 0;
  }

 private:
  static constexpr size_t kCap = 256;
  PointKernel kern_;
  const DistParams& P_;
  size_t isz_;
  size_t n_ = 0;
  uint64_t elems_[kCap];
  char* dst_[kCap];
  alignas(64) unsigned char vals_[kCap * 8];
};
// Where the box's runs are: the local view and the stream position of each run.
struct BoxWalk {
  const FillTarget* t;
  const uint64_t* gstep;  // stream elements per step along each global axis
  uint64_t origin;        // stream element of the box's element 0
  uint64_t inner, rows;   // extents of the last and second-last axes
  int64_t row_stride;
  uint64_t row_step;
};

// Element e of the box: its run's first memory address and stream element (col: e's place in it).
inline void locate(const BoxWalk& w, uint64_t e, char*& p, uint64_t& o, uint64_t& col, uint64_t& row) {
  const FillTarget& t = *w.t;
  uint64_t r = e / w.inner;
  col = e % w.inner;
  row = r % w.rows;
  r /= w.rows;
  p = t.data + int64_t(row) * w.row_stride;
  o = w.origin + row * w.row_step;
  for (int d = t.ndim - 3; d >= 0; --d) {
    const uint64_t ext = uint64_t(t.shape[d]), k = r % ext;
    r /= ext;
    p += int64_t(k) * t.strides[d];
    o += k * w.gstep[d];
  }
}

// The pieces of runs that box elements [begin, end) make: visit(memory, stream element, length).
template <class Visit>
void walk_runs(const BoxWalk& w, uint64_t begin, uint64_t end, Visit visit) {
  const int64_t inner_stride = w.t->strides[w.t->ndim - 1];
  for (uint64_t e = begin; e < end;) {
    char* p;
    uint64_t o, col, row;
    locate(w, e, p, o, col, row);
    for (uint64_t left = w.rows - row; left > 0 && e < end; --left, p += w.row_stride, o += w.row_step) {
      const uint64_t len = std::min<uint64_t>(w.inner - col, end - e);
      visit(p + int64_t(col) * inner_stride, o + col, len);
      e += len;
      col = 0;
    }
  }
}

// Box elements [begin, end) of narrow runs (under a span's worth) of several elements: the Philox
// blocks of many runs at once through the block kernel, each block once, then each run's values
// copied out of its blocks.
void box_blocks(BlockKernel kern, const DistParams& P, const BoxWalk& w, uint64_t begin, uint64_t end,
                uint64_t per_block) {
  constexpr size_t kCap = 256;  // blocks per batch
  struct Piece {
    char* dst;
    size_t at, len;  // its values: vals[at .. at + len)
  };
  uint64_t blocks[kCap];
  Piece pieces[kCap];
  alignas(64) unsigned char vals[kCap * 16];  // 4 float32 or 2 float64 values per block at most
  const size_t isz = w.t->itemsize;
  const int64_t stride = w.t->strides[w.t->ndim - 1];
  size_t nb = 0, np = 0;
  auto flush = [&] {
    kern(P, blocks, nb, vals);
    for (size_t i = 0; i < np; ++i) scatter(pieces[i].dst, stride, vals + pieces[i].at * isz, isz, pieces[i].len);
    nb = np = 0;
  };
  walk_runs(w, begin, end, [&](char* p, uint64_t o, uint64_t len) {
    const uint64_t b0 = o / per_block, b1 = (o + len - 1) / per_block;
    if (nb + (b1 - b0 + 1) > kCap) flush();
    pieces[np++] = {p, size_t(nb * per_block + o % per_block), size_t(len)};
    for (uint64_t b = b0; b <= b1; ++b) blocks[nb++] = b;
  });
  if (nb) flush();
}

// Box elements [begin, end) of a 1-wide box: each stretch of rows is a column of the stream (one
// element per row_step), computed by the column kernel straight into memory when the rows are
// adjacent, else in batches scattered by the row stride.
void box_column(ColumnKernel column, const DistParams& P, const BoxWalk& w, uint64_t begin, uint64_t end) {
  constexpr size_t kBatch = 512;
  alignas(64) unsigned char vals[kBatch * 8];
  const size_t isz = w.t->itemsize;
  for (uint64_t e = begin; e < end;) {
    char* p;
    uint64_t o, col, row;
    locate(w, e, p, o, col, row);
    const uint64_t stop = std::min<uint64_t>(w.rows - row, end - e);
    if (w.row_stride == int64_t(isz) && aligned(p, isz)) {
      column(P, Column{o, w.row_step}, size_t(stop), p);
    } else {
      for (uint64_t k = 0; k < stop; k += kBatch) {
        const uint64_t m = std::min<uint64_t>(kBatch, stop - k);
        column(P, Column{o + k * w.row_step, w.row_step}, size_t(m), vals);
        scatter(p + int64_t(k) * w.row_stride, w.row_stride, vals, isz, m);
      }
    }
    e += stop;
  }
}

// Box elements [begin, end) of short runs, all through the point kernel, in batches. Everything
// the loop reads is a local (no pointer into it escapes), so it stays in registers.
void box_points(PointKernel point, const DistParams& P, const BoxWalk& w, uint64_t begin, uint64_t end) {
  constexpr size_t kBatch = 256;
  uint64_t elems[kBatch];
  char* dst[kBatch];
  alignas(64) unsigned char vals[kBatch * 8];
  const size_t isz = w.t->itemsize;
  const int64_t inner_stride = w.t->strides[w.t->ndim - 1];
  const uint64_t inner = w.inner, rows = w.rows, row_step = w.row_step;
  const int64_t row_stride = w.row_stride;
  size_t m = 0;
  auto flush = [&] {
    put_points(point, P, elems, dst, m, isz, vals);
    m = 0;
  };
  for (uint64_t e = begin; e < end;) {
    char* p;
    uint64_t o, col, row;
    locate(w, e, p, o, col, row);
    for (uint64_t left = rows - row; left > 0 && e < end; --left, p += row_stride, o += row_step) {
      const uint64_t len = std::min<uint64_t>(inner - col, end - e);
      char* q = p + int64_t(col) * inner_stride;
      for (uint64_t k = 0; k < len; ++k, q += inner_stride) {
        elems[m] = o + col + k;
        dst[m] = q;
        if (++m == kBatch) flush();
      }
      e += len;
      col = 0;
    }
  }
  if (m) flush();
}
}  // namespace

void fill_random_box(const FillTarget& t, const RandomSpec& spec, const uint64_t* gshape, const uint64_t* start,
                     int threads) {
  const int nd = t.ndim;
  uint64_t n = 1;
  for (int d = 0; d < nd; ++d) n *= uint64_t(t.shape[d]);
  if (n == 0) return;
  // 0 dims, or a truncated normal that is a constant: the plain fill already does it right
  if (nd == 0 || (spec.dist == Dist::TruncNormal && (spec.p1 == 0.0 || spec.p2 == spec.p3))) {
    RandomSpec s = spec;
    for (int d = 0; d < nd; ++d) s.offset += start[d];  // nd == 0: nothing to add
    fill_random(t, s, threads);
    return;
  }
  // gstep[d]: stream elements per step along axis d of the global tensor
  std::vector<uint64_t> gstep(size_t(nd), 1);
  for (int d = nd - 2; d >= 0; --d) gstep[size_t(d)] = gstep[size_t(d) + 1] * gshape[d + 1];
  uint64_t origin = spec.offset;  // stream element of the box's element 0
  for (int d = 0; d < nd; ++d) origin += start[d] * gstep[size_t(d)];

  const KernelTable& K = table();
  const ChunkKernel kern = kernel_for(K, spec.dist, t.dtype);
  const PointKernel point = kernel_for(point_table(), spec.dist, t.dtype);
  const ColumnKernel column = kernel_for(column_table(), spec.dist, t.dtype);
  const SpanKernel span = kernel_for(span_table(), spec.dist, t.dtype);
  const BlockKernel blocks = kernel_for(block_table(), spec.dist, t.dtype);
  const uint64_t per_block = t.dtype == DType::F64 ? 2 : 4;
  const uint64_t span_min = kSpanMinBlocks * (t.dtype == DType::F64 ? 2 : 4);  // elements
  const size_t isz = t.itemsize;
  DistParams P = make_params(spec);
  P.nontemporal = n * isz >= kNontemporalBytes;
  const uint64_t inner = uint64_t(t.shape[nd - 1]);
  const int64_t inner_stride = t.strides[nd - 1];
  // Runs too short for a span kernel go wholly through the point kernels, which cost several times
  // a chunk's elements each (a Philox block apiece): smaller tasks, so that threads share them.
  const bool short_runs = inner < span_min;
  const uint64_t task_elems = short_runs ? kTask / 8 : kTask;
  const uint64_t ntasks = (n + task_elems - 1) / task_elems;
  const int nthreads = n < kParallelMin / 8 ? 1 : int(std::min<uint64_t>(uint64_t(threads > 0 ? threads : default_threads()), ntasks));

  // One run piece: stream elements [o, o + len) to p, p + stride, ...
  // A run's end (fewer than a chunk): a span if it has the blocks for one, else points.
  auto end_piece = [&](PointQueue& q, char* p, uint64_t o, uint64_t len, unsigned char* buf) {
    if (len < span_min) {
      for (uint64_t k = 0; k < len; ++k) q.push(o + k, p + int64_t(k) * inner_stride);
    } else if (inner_stride == int64_t(isz) && aligned(p, isz)) {
      span(P, o, size_t(len), p);
    } else {
      span(P, o, size_t(len), buf);
      scatter(p, inner_stride, buf, isz, len);
    }
  };
  auto run = [&](PointQueue& q, char* p, uint64_t o, uint64_t len) {
    alignas(64) unsigned char ends[2 * kChunk * 8];
    uint64_t head = std::min<uint64_t>(len, (kChunk - o % kChunk) % kChunk);
    if (len - head < kChunk) head = len;  // no whole chunk: one piece
    end_piece(q, p, o, head, ends);
    uint64_t k = head;
    const uint64_t body_end = head + (len - head) / kChunk * kChunk;
    if (k < body_end && inner_stride == int64_t(isz) && aligned(p, isz)) {
      kern(P, (o + k) / kChunk, size_t((body_end - k) / kChunk), p + k * isz);
      k = body_end;
    }
    alignas(64) unsigned char buf[16 * kChunk * 8];
    for (; k < body_end;) {
      const uint64_t m = std::min<uint64_t>(16 * kChunk, body_end - k);
      kern(P, (o + k) / kChunk, size_t(m / kChunk), buf);
      scatter(p + int64_t(k) * inner_stride, inner_stride, buf, isz, m);
      k += m;
    }
    if (k < len) end_piece(q, p + int64_t(k) * inner_stride, o + k, len - k, ends);
  };

  // Runs along the second-last axis are evenly spaced in memory and in the stream: walked with
  // local steps; the position is recomputed (divisions) only when a walk reaches that axis's end.
  BoxWalk w;
  w.t = &t;
  w.gstep = gstep.data();
  w.origin = origin;
  w.inner = inner;
  w.rows = nd >= 2 ? uint64_t(t.shape[nd - 2]) : 1;
  w.row_stride = nd >= 2 ? t.strides[nd - 2] : 0;
  w.row_step = nd >= 2 ? gstep[size_t(nd) - 2] : 0;
  auto task = [&](size_t i) {
    const uint64_t begin = uint64_t(i) * task_elems, end = std::min(n, begin + task_elems);
    if (inner == 1) {
      box_column(column, P, w, begin, end);
      return;
    }
    if (short_runs && inner < per_block) {  // a block would mostly hold elements outside the box
      box_points(point, P, w, begin, end);
      return;
    }
    if (short_runs) {
      box_blocks(blocks, P, w, begin, end, per_block);
      return;
    }
    PointQueue q(point, P, isz);
    walk_runs(w, begin, end, [&](char* p, uint64_t o, uint64_t len) { run(q, p, o, len); });
    q.flush();
  };
  parallel_for(size_t(ntasks), nthreads, task);
}

namespace {
// k-th smallest (1-based) of words, and how many words are below it and equal to it. Large
// units: a histogram of the top 11 bits finds the bucket holding it (the words are uniform),
// then only that bucket (which holds every word equal to it) is partially sorted.
struct Kth {
  uint32_t value;
  uint64_t below, equal;
};
Kth kth_smallest(const std::vector<uint32_t>& words, uint64_t k, std::vector<uint32_t>& scratch,
                 std::vector<uint32_t>& counts) {
  const size_t n = words.size();
  uint64_t below = 0;
  uint64_t need = k;
  if (n < 4096) {
    scratch.assign(words.begin(), words.end());
  } else {
    constexpr int kBits = 11;
    counts.assign(size_t(1) << kBits, 0);
    for (uint32_t w : words) ++counts[w >> (32 - kBits)];
    uint32_t bucket = 0;
    while (below + counts[bucket] < k) below += counts[bucket++];
    scratch.clear();
    for (uint32_t w : words)
      if ((w >> (32 - kBits)) == bucket) scratch.push_back(w);
    need = k - below;
  }
  std::nth_element(scratch.begin(), scratch.begin() + (need - 1), scratch.end());
  const uint32_t kth = scratch[need - 1];
  uint64_t less = 0, equal = 0;
  for (uint32_t w : scratch) {
    less += w < kth;
    equal += w == kth;
  }
  return {kth, below + less, equal};
}

// The selection of each unit in [0, units), in parallel over tasks of about kTask keys: emit(u0,
// u1, rows) gets a task's units with rows[(u - u0) * members + m] = 1 at the selected members.
template <class Emit>
void select_units(uint64_t units, uint64_t members, uint64_t k, uint64_t seed, uint64_t stream,
                  uint64_t first_unit, int threads, Emit emit) {
  RandomSpec spec;
  spec.dist = Dist::Bits;
  spec.seed = seed;
  spec.stream = stream;
  const DistParams P = make_params(spec);
  const ChunkKernel kern = table().bits;
  const uint64_t per_task = std::max<uint64_t>(1, kTask / members);
  const uint64_t ntasks = (units + per_task - 1) / per_task;
  if (threads <= 0) threads = default_threads();
  if (units * members < kParallelMin) threads = 1;
  auto task = [&](size_t t) {
    std::vector<uint32_t> words(members), sorted;
    std::vector<uint32_t> counts;
    const uint64_t u0 = uint64_t(t) * per_task, u1 = std::min(units, u0 + per_task);
    std::vector<unsigned char> rows(size_t((u1 - u0) * members));
    for (uint64_t u = u0; u < u1; ++u) {
      unsigned char* row = rows.data() + (u - u0) * members;
      if (k >= members || k == 0) {
        std::memset(row, k ? 1 : 0, size_t(members));
        continue;
      }
      generate(kern, P, reinterpret_cast<char*>(words.data()), 4, (first_unit + u) * members, members);
      // Every word up to the k-th smallest (a vectorized pass), then ties broken by member index
      // (the key's low half): of the words equal to the k-th, only the first k - below stay.
      const Kth kth = kth_smallest(words, k, sorted, counts);
      const uint32_t* w = words.data();
      for (uint64_t m = 0; m < members; ++m) row[m] = w[m] <= kth.value;
      for (uint64_t m = members, extra = kth.below + kth.equal - k; extra > 0; --m)
        if (w[m - 1] == kth.value) {
          row[m - 1] = 0;
          --extra;
        }
    }
    emit(u0, u1, rows.data());
  };
  parallel_for(size_t(ntasks), int(std::min<uint64_t>(uint64_t(threads), ntasks)), task);
}
}  // namespace

void select_smallest(unsigned char* mask, uint64_t units, uint64_t members, uint64_t k, uint64_t seed,
                     uint64_t stream, uint64_t first_unit, int threads) {
  if (units == 0 || members == 0) return;
  select_units(units, members, k, seed, stream, first_unit, threads,
               [&](uint64_t u0, uint64_t u1, const unsigned char* rows) {
                 std::memcpy(mask + u0 * members, rows, size_t((u1 - u0) * members));
               });
}

void zero_by_selection(char* data, int64_t unit_stride, int64_t member_stride, size_t itemsize, uint64_t units,
                       uint64_t members, uint64_t k, bool zero_selected, uint64_t seed, uint64_t stream,
                       int threads) {
  if (units == 0 || members == 0 || (zero_selected ? k == 0 : k >= members)) return;  // nothing to zero
  const unsigned char target = zero_selected ? 1 : 0;
  // member-major: a task's units are usually neighbours in memory (columns of a row-major
  // matrix), so each cache line is visited once per task, not once per unit
  auto zero = [&](auto item) {
    using T = decltype(item);
    select_units(units, members, k, seed, stream, 0, threads,
                 [&](uint64_t u0, uint64_t u1, const unsigned char* rows) {
                   for (uint64_t m = 0; m < members; ++m) {
                     char* at = data + int64_t(m) * member_stride + int64_t(u0) * unit_stride;
                     for (uint64_t u = u0; u < u1; ++u, at += unit_stride)
                       if (rows[(u - u0) * members + m] == target) std::memcpy(at, &item, sizeof(T));
                   }
                 });
  };
  switch (itemsize) {  // all-zero bytes, stored as one integer of the element's size
    case 1: return zero(uint8_t(0));
    case 2: return zero(uint16_t(0));
    case 4: return zero(uint32_t(0));
    case 8: return zero(uint64_t(0));
    default: throw std::invalid_argument("zero_by_selection: itemsize must be 1, 2, 4 or 8");
  }
}

void fill_constant(const FillTarget& t, const void* value, int threads) {
  const Layout L = simplify(t);
  const uint64_t n = L.size;
  if (n == 0) return;
  const size_t isz = t.itemsize;
  unsigned char pat[32];
  for (size_t k = 0; k < 32; k += isz) std::memcpy(pat + k, value, isz);
  const KernelTable& K = table();
  const int nthreads = effective_threads(threads, n);
  // Constant fills are pure bandwidth: bigger tasks, still on element boundaries.
  const uint64_t task_elems = std::max<uint64_t>(kTask, (n + 4 * uint64_t(nthreads) - 1) / (4 * uint64_t(nthreads)));
  const uint64_t ntasks = (n + task_elems - 1) / task_elems;
  const bool contiguous = L.ndim == 1 && L.strides[0] == int64_t(isz) && aligned(t.data, isz);
  auto task = [&](size_t i) {
    const uint64_t begin = uint64_t(i) * task_elems, end = std::min(n, begin + task_elems);
    if (contiguous) {
      K.pattern(t.data + begin * isz, (end - begin) * isz, pat);
      return;
    }
    for_runs(t.data, L, begin, end, [&](char* p, uint64_t, uint64_t len, int64_t stride) {
      if (stride == int64_t(isz) && aligned(p, isz)) {
        K.pattern(p, len * isz, pat);
      } else {
        for (uint64_t k = 0; k < len; ++k, p += stride) std::memcpy(p, value, isz);
      }
    });
  };
  parallel_for(size_t(ntasks), nthreads, task);
}

}  // namespace weightinit
