// The only file that includes pybind11. Arrays come in as py::array (never array_t, whose
// forcecast would fill a temporary copy); everything is checked with the GIL held, then the
// GIL is released once for the whole fill and no Python object is touched after that.
#include <pybind11/pybind11.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/fill.hpp"
#include "core/overlap.hpp"
#include "core/philox.hpp"
#include "core/stats.hpp"
#include "core/thread_pool.hpp"

#define WI_STRINGIFY_(x) #x
#define WI_STRINGIFY(x) WI_STRINGIFY_(x)

namespace py = pybind11;
using namespace weightinit;

namespace {

constexpr int kMaxDims = 64;  // NumPy 2's NPY_MAXDIMS
constexpr uint64_t kReleaseGilMin = 4096;

// Runs f with the GIL released. Not py::gil_scoped_release: Python 3.11 ends a daemon thread
// that retakes the GIL during finalization with pthread_exit, and that forced unwind leaving a
// destructor (noexcept) is std::terminate; from plain code pybind11 lets it pass.
template <class F>
void without_gil(F&& f) {
  PyThreadState* state = PyEval_SaveThread();
  try {
    f();
  } catch (...) {
    PyEval_RestoreThread(state);
    throw;
  }
  PyEval_RestoreThread(state);
}

void check_no_overlap(int ndim, const int64_t* shape, const int64_t* strides, size_t itemsize, const char* argname) {
  if (has_internal_overlap(ndim, shape, strides, itemsize))
    throw py::value_error(std::string(argname) +
                          " has overlapping elements (two share memory through its strides); fill the base array "
                          "instead");
}

struct Target {
  FillTarget t;
  std::array<int64_t, kMaxDims> shape, strides;
  uint64_t size = 1;
};

DType float_dtype(const py::dtype& dt, const char* argname) {
  const char kind = dt.kind();
  const auto isz = dt.itemsize();
  if (kind == 'f' && isz == 4) return DType::F32;
  if (kind == 'f' && isz == 8) return DType::F64;
  if (kind == 'f' && isz == 2) return DType::F16;
  if (isz == 2 && py::str(dt.attr("name")).cast<std::string>() == "bfloat16") return DType::BF16;
  throw py::type_error(std::string(argname) + " must have dtype float32, float64, float16 or bfloat16, got " +
                       py::str(dt).cast<std::string>());
}

Target make_target(py::array& arr, bool bits) {
  const py::dtype dt = arr.dtype();
  Target T;
  if (bits) {
    if (!(dt.kind() == 'u' && dt.itemsize() == 4))
      throw py::type_error("tensor must have dtype uint32 for random bits, got " + py::str(dt).cast<std::string>());
    T.t.dtype = DType::U32;
  } else {
    T.t.dtype = float_dtype(dt, "tensor");
  }
  const char bo = dt.byteorder();
  const bool little = []() { const uint16_t one = 1; unsigned char b; std::memcpy(&b, &one, 1); return b == 1; }();
  if ((bo == '>' && little) || (bo == '<' && !little))
    throw py::value_error("tensor must be in native byte order");
  if (!arr.writeable()) throw py::value_error("tensor is read-only");
  T.t.itemsize = size_t(dt.itemsize());
  T.t.ndim = int(arr.ndim());
  if (T.t.ndim > kMaxDims) throw py::value_error("tensor has too many dimensions");
  for (int i = 0; i < T.t.ndim; ++i) {
    T.shape[i] = int64_t(arr.shape(i));
    T.strides[i] = int64_t(arr.strides(i));
    T.size *= uint64_t(T.shape[i]);
  }
  T.t.shape = T.shape.data();
  T.t.strides = T.strides.data();
  check_no_overlap(T.t.ndim, T.t.shape, T.t.strides, T.t.itemsize, "tensor");
  T.t.data = static_cast<char*>(arr.mutable_data());
  return T;
}

int check_threads(int threads) {
  if (threads < 0) throw py::value_error("threads must be >= 1 (or 0 for the default)");
  return threads;
}

void run_random(py::array arr, Dist dist, uint64_t seed, uint64_t stream, uint64_t offset, double p0, double p1,
                double p2, double p3, int threads) {
  Target T = make_target(arr, dist == Dist::Bits);
  RandomSpec spec;
  spec.dist = dist;
  spec.seed = seed;
  spec.stream = stream;
  spec.offset = offset;
  spec.p0 = p0;
  spec.p1 = p1;
  spec.p2 = p2;
  spec.p3 = p3;
  const uint64_t n = T.size;
  if (n != 0 && offset > ~uint64_t(0) - (n - 1))
    throw py::value_error("offset + tensor size must not exceed 2**64 elements");
  threads = check_threads(threads);
  if (n < kReleaseGilMin) {  // releasing and retaking the GIL costs more than a small fill
    fill_random(T.t, spec, threads);
    return;
  }
  without_gil([&] { fill_random(T.t, spec, threads); });
}

// A box of a global tensor (see fill_random_box): the checks Python makes first, repeated here
// so that no call can write out of bounds or wrap the stream.
void run_random_box(py::array arr, const std::string& dist, uint64_t seed, uint64_t stream, uint64_t offset,
                    std::array<double, 4> params, const std::vector<uint64_t>& global_shape,
                    const std::vector<uint64_t>& start, int threads) {
  Dist d;
  if (dist == "bits") d = Dist::Bits;
  else if (dist == "uniform") d = Dist::Uniform;
  else if (dist == "normal") d = Dist::Normal;
  else if (dist == "trunc_normal") d = Dist::TruncNormal;
  else throw py::value_error("dist must be one of 'bits', 'uniform', 'normal', 'trunc_normal'; got '" + dist + "'");
  Target T = make_target(arr, d == Dist::Bits);
  const size_t nd = size_t(T.t.ndim);
  if (global_shape.size() != nd || start.size() != nd)
    throw py::value_error("global_shape and start must have one entry per dimension of tensor");
  uint64_t total = 1;
  bool empty = false;
  for (size_t i = 0; i < nd; ++i) {
    const uint64_t ext = uint64_t(T.shape[i]);
    if (start[i] > global_shape[i] || ext > global_shape[i] - start[i])
      throw py::value_error("start + tensor.shape must be <= global_shape on every axis");
    empty |= global_shape[i] == 0;
    if (global_shape[i] != 0 && total > ~uint64_t(0) / global_shape[i])
      throw py::value_error("global_shape has more than 2**64 elements");
    total *= global_shape[i];
  }
  if (!empty && offset > ~uint64_t(0) - (total - 1))
    throw py::value_error("offset + global size must not exceed 2**64 elements");
  RandomSpec spec;
  spec.dist = d;
  spec.seed = seed;
  spec.stream = stream;
  spec.offset = offset;
  spec.p0 = params[0];
  spec.p1 = params[1];
  spec.p2 = params[2];
  spec.p3 = params[3];
  threads = check_threads(threads);
  if (T.size < kReleaseGilMin) {
    fill_random_box(T.t, spec, global_shape.data(), start.data(), threads);
    return;
  }
  py::gil_scoped_release release;
  fill_random_box(T.t, spec, global_shape.data(), start.data(), threads);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "weightinit's C++ core: Philox4x32-10 streams filling arrays in place";
  m.attr("__version__") = WI_STRINGIFY(VERSION_INFO);
  m.attr("STREAM_FORMAT") = kStreamFormat;

  m.def(
      "philox4x32",
      [](std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
        const Block b = philox4x32_10({ctr[0], ctr[1], ctr[2], ctr[3]}, key[0], key[1]);
        return py::make_tuple(b[0], b[1], b[2], b[3]);
      },
      py::arg("counter"), py::arg("key"), "Philox4x32-10 of one counter block under a key (Random123).");

  m.def(
      "fill_bits",
      [](py::array arr, uint64_t seed, uint64_t stream, uint64_t offset, int threads) {
        run_random(arr, Dist::Bits, seed, stream, offset, 0, 0, 0, 0, threads);
      },
      py::arg("arr"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("threads"));
  m.def(
      "fill_uniform",
      [](py::array arr, uint64_t seed, uint64_t stream, uint64_t offset, double lo, double hi, int threads) {
        run_random(arr, Dist::Uniform, seed, stream, offset, lo, hi, 0, 0, threads);
      },
      py::arg("arr"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("lo"), py::arg("hi"),
      py::arg("threads"));
  m.def(
      "fill_normal",
      [](py::array arr, uint64_t seed, uint64_t stream, uint64_t offset, double mean, double std, int threads) {
        run_random(arr, Dist::Normal, seed, stream, offset, mean, std, 0, 0, threads);
      },
      py::arg("arr"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("mean"), py::arg("std"),
      py::arg("threads"));
  m.def(
      "fill_trunc_normal",
      [](py::array arr, uint64_t seed, uint64_t stream, uint64_t offset, double mean, double std, double a, double b,
         int threads) { run_random(arr, Dist::TruncNormal, seed, stream, offset, mean, std, a, b, threads); },
      py::arg("arr"), py::arg("seed"), py::arg("stream"), py::arg("offset"), py::arg("mean"), py::arg("std"),
      py::arg("a"), py::arg("b"), py::arg("threads"));
  m.def("fill_random_box", &run_random_box, py::arg("arr"), py::arg("dist"), py::arg("seed"), py::arg("stream"),
        py::arg("offset"), py::arg("params"), py::arg("global_shape"), py::arg("start"), py::arg("threads"),
        "Fills arr as the box at start of a global C-order tensor of global_shape: element idx gets element "
        "offset + ravel(start + idx, global_shape) of the stream. params: uniform (lo, hi, 0, 0), normal "
        "(mean, std, 0, 0), trunc_normal (mean, std, a, b), bits (0, 0, 0, 0).");
  m.def(
      "fill_constant",
      [](py::array arr, py::bytes value, int threads) {
        const py::dtype dt = arr.dtype();
        Target T = make_target(arr, dt.kind() == 'u' && dt.itemsize() == 4);
        const std::string v = value;
        if (v.size() != T.t.itemsize) throw py::value_error("value must have exactly itemsize bytes");
        threads = check_threads(threads);
        without_gil([&] { fill_constant(T.t, v.data(), threads); });
      },
      py::arg("arr"), py::arg("value"), py::arg("threads"),
      "Writes the element `value` (its bytes in the array's dtype) everywhere.");

  m.def(
      "select_smallest",
      [](py::array mask, uint64_t k, uint64_t seed, uint64_t stream, uint64_t first_unit, int threads) {
        if (!(mask.dtype().kind() == 'u' || mask.dtype().kind() == 'b') || mask.dtype().itemsize() != 1)
          throw py::type_error("mask must have dtype uint8 or bool");
        if (mask.ndim() != 2) throw py::value_error("mask must have 2 dimensions (units, members)");
        if (!(mask.flags() & py::array::c_style)) throw py::value_error("mask must be C-contiguous");
        if (!mask.writeable()) throw py::value_error("mask is read-only");
        const uint64_t units = uint64_t(mask.shape(0)), members = uint64_t(mask.shape(1));
        unsigned char* data = static_cast<unsigned char*>(mask.mutable_data());
        threads = check_threads(threads);
        without_gil([&] { select_smallest(data, units, members, k, seed, stream, first_unit, threads); });
      },
      py::arg("mask"), py::arg("k"), py::arg("seed"), py::arg("stream"), py::arg("first_unit"), py::arg("threads"),
      "Marks, per row u of mask, the k columns m with the smallest (word((first_unit + u) * members + m) << 32 | m).");

  m.def(
      "zero_by_selection",
      [](py::array x, uint64_t k, bool zero_selected, uint64_t seed, uint64_t stream, int threads) {
        if (x.ndim() != 2) throw py::value_error("x must have 2 dimensions (units, members)");
        if (!x.writeable()) throw py::value_error("x is read-only");
        const uint64_t units = uint64_t(x.shape(0)), members = uint64_t(x.shape(1));
        char* data = static_cast<char*>(x.mutable_data());
        const int64_t us = int64_t(x.strides(0)), ms = int64_t(x.strides(1));
        const size_t isz = size_t(x.itemsize());
        const int64_t shape[2] = {int64_t(units), int64_t(members)}, strides[2] = {us, ms};
        check_no_overlap(2, shape, strides, isz, "x");
        threads = check_threads(threads);
        without_gil([&] { zero_by_selection(data, us, ms, isz, units, members, k, zero_selected, seed, stream, threads); });
      },
      py::arg("x"), py::arg("k"), py::arg("zero_selected"), py::arg("seed"), py::arg("stream"), py::arg("threads"),
      "Per row u of the 2-D view x (any strides), zeroes the k elements whose columns select_smallest "
      "(first_unit 0) would mark (zero_selected) or all the others.");

  m.def(
      "tensor_stats",
      [](py::object obj, const std::string& dtype, int threads, double shift) {
        DType d;
        if (dtype == "F32") d = DType::F32;
        else if (dtype == "F64") d = DType::F64;
        else if (dtype == "F16") d = DType::F16;
        else if (dtype == "BF16") d = DType::BF16;
        else throw py::value_error("dtype must be one of 'F32', 'F64', 'F16', 'BF16'; got '" + dtype + "'");
        threads = check_threads(threads);
        struct Buffer {  // released on every path out, exceptions included
          Py_buffer v;
          ~Buffer() { PyBuffer_Release(&v); }
        };
        Buffer buf;  // read-only is fine: nothing is written; contiguous, so no copy is made
        if (PyObject_GetBuffer(obj.ptr(), &buf.v, PyBUF_ANY_CONTIGUOUS) != 0) {
          PyErr_Clear();
          buf.v.obj = nullptr;  // PyBuffer_Release of an unfilled view does nothing
          throw py::type_error("buffer must be a contiguous buffer (a NumPy array, bytes or memoryview)");
        }
        const size_t isz = d == DType::F64 ? 8 : d == DType::F32 ? 4 : 2;
        const size_t nbytes = size_t(buf.v.len);
        if (nbytes % isz != 0)
          throw py::value_error("buffer length " + std::to_string(nbytes) + " is not a multiple of the " + dtype +
                                " item size " + std::to_string(isz));
        TensorStats r;  // the buffer export keeps the memory alive while the GIL is released
        without_gil([&] { r = tensor_stats(buf.v.buf, nbytes / isz, d, shift, threads); });
        return py::make_tuple(r.count, r.sum, r.sumsq, r.min, r.max, r.zeros, r.nonfinite);
      },
      py::arg("buffer"), py::arg("dtype"), py::arg("threads"), py::arg("shift") = 0.0,
      "(finite count, sum and sum of squares of x - shift, min, max, zeros, non-finite) over the finite "
      "elements of a contiguous buffer read as dtype ('F32', 'F64', 'F16', 'BF16'); deterministic for any "
      "thread count. For the 16/32-bit dtypes shift is first rounded to float32.");

  m.def("isa", []() { return std::string(current_isa()); }, "The kernel set in use: 'avx2' or 'portable'.");
  m.def(
      "set_isa",
      [](const std::string& name) {
        if (!set_isa(name))
          throw py::value_error("isa must be one of 'auto', 'portable'" +
                                std::string(isa_supported("avx2") ? ", 'avx2'" : "") + "; got '" + name + "'");
      },
      py::arg("name"));
  m.def("isa_supported", [](const std::string& name) { return isa_supported(name); }, py::arg("name"));
  m.def("default_threads", &default_threads, "WEIGHTINIT_NUM_THREADS, else the CPUs in this process's affinity mask.");
  m.def("usable_cpus", &usable_cpus);

  m.def(
      "_test_parallel_for_fault",
      [](size_t ntasks, int threads, int where, int sleep_us) {
        if (where < 0 || where > 2) throw py::value_error("where must be 0 (worker), 1 (caller) or 2 (every task)");
        without_gil([&] { parallel_for_fault_test(ntasks, threads, where, sleep_us); });
      },
      py::arg("ntasks"), py::arg("threads"), py::arg("where"), py::arg("sleep_us"),
      "Test hook: a parallel_for whose tasks throw std::bad_alloc (see thread_pool.hpp).");
}
