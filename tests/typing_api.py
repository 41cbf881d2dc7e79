"""What a user's type checker sees of the public API (py.typed is a promise): type-checked, never run.

CI: ``MYPYPATH=python mypy --strict --follow-imports=silent tests/typing_api.py``. ``--strict`` includes
``--no-implicit-reexport``, so every name used here must be exported by ``weightinit.__all__``; each
``assert_type`` fails the check if an annotation drifts.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt
from typing_extensions import assert_type

import weightinit as wi

x: npt.NDArray[np.float32] = np.zeros((64, 32), np.float32)
conv: npt.NDArray[np.float64] = np.zeros((8, 4, 3, 3), np.float64)
bias: npt.NDArray[np.float32] = np.zeros(64, np.float32)
words: npt.NDArray[np.uint32] = np.zeros(8, np.uint32)
Array = np.ndarray  # the allocating twins' result: a new array of the dtype asked for at run time

# in-place functions return the array (or tensor) they were given, with its type
assert_type(wi.uniform_(x, -1.0, 1.0, seed=1, stream="w"), npt.NDArray[np.float32])
assert_type(wi.normal_(x, 0.0, 0.02, seed=1, offset=64, threads=2), npt.NDArray[np.float32])
assert_type(wi.trunc_normal_(x, std=0.02, a=-0.04, b=0.04, generator=wi.Generator(3)), npt.NDArray[np.float32])
assert_type(wi.constant_(x, 0.5), npt.NDArray[np.float32])
assert_type(wi.zeros_(x, global_shape=(128, 32), start=(64, 0)), npt.NDArray[np.float32])
assert_type(wi.ones_(x), npt.NDArray[np.float32])
assert_type(wi.random_bits_(words, seed=1), npt.NDArray[np.uint32])
assert_type(wi.xavier_uniform_(x, gain=wi.calculate_gain("tanh"), seed=1), npt.NDArray[np.float32])
assert_type(wi.xavier_normal_(x, seed=1), npt.NDArray[np.float32])
assert_type(wi.kaiming_uniform_(x, a=5**0.5, seed=1), npt.NDArray[np.float32])
assert_type(wi.kaiming_normal_(x, mode="fan_out", nonlinearity="relu", seed=1), npt.NDArray[np.float32])
assert_type(wi.variance_scaling_(x, 2.0, "fan_avg", "uniform", seed=1, fans=(32, 64)), npt.NDArray[np.float32])
for inplace in (wi.glorot_uniform_, wi.glorot_normal_, wi.he_uniform_, wi.he_normal_, wi.lecun_uniform_,
                wi.lecun_normal_):
    assert_type(inplace(x, in_axis=-2, out_axis=-1, seed=1), npt.NDArray[np.float32])
assert_type(wi.orthogonal_(x, gain=2.0, column_axis=-1, seed=1), npt.NDArray[np.float32])
assert_type(wi.delta_orthogonal_(conv, seed=1), npt.NDArray[np.float64])
assert_type(wi.sparse_(x, 0.5, seed=1), npt.NDArray[np.float32])
assert_type(wi.martens_sparse_(x, nonzeros=4, seed=1), npt.NDArray[np.float32])
assert_type(wi.eye_(x), npt.NDArray[np.float32])
assert_type(wi.dirac_(conv, groups=2), npt.NDArray[np.float64])
assert_type(wi.init_(x, "leaky_relu", 0.1, seed=1), npt.NDArray[np.float32])
assert_type(wi.torch_default_("linear", x, bias, seed=1),
            Tuple[Optional[npt.NDArray[np.float32]], Optional[npt.NDArray[np.float32]]])

# allocating twins: shape and dtype in, a new ndarray out
assert_type(wi.uniform((64, 32), dtype="bfloat16", seed=1), Array)
assert_type(wi.normal(8, seed=1), Array)
assert_type(wi.trunc_normal([4, 4], seed=1), Array)
assert_type(wi.constant((2, 2), 1.5, dtype=np.float64), Array)
assert_type(wi.zeros(3), Array)
assert_type(wi.ones(3), Array)
assert_type(wi.random_bits(16, seed=1), Array)
assert_type(wi.xavier_uniform((64, 32), seed=1), Array)
assert_type(wi.xavier_normal((64, 32), seed=1), Array)
assert_type(wi.kaiming_uniform((64, 32), seed=1), Array)
assert_type(wi.kaiming_normal((64, 32), seed=1), Array)
assert_type(wi.variance_scaling((3, 3, 16, 32), in_axis=-2, out_axis=-1, seed=1), Array)
for twin in (wi.glorot_uniform, wi.glorot_normal, wi.he_uniform, wi.he_normal, wi.lecun_uniform, wi.lecun_normal):
    assert_type(twin((64, 32), "float16", seed=1), Array)
assert_type(wi.orthogonal((64, 32), seed=1), Array)
assert_type(wi.delta_orthogonal((8, 4, 3, 3), seed=1), Array)
assert_type(wi.sparse((64, 32), 0.9, seed=1), Array)
assert_type(wi.martens_sparse((64, 32), seed=1), Array)
assert_type(wi.eye((4, 4)), Array)
assert_type(wi.dirac((8, 4, 3)), Array)

# randomness, fans, gains, advice
assert_type(wi.manual_seed(7), wi.Generator)
assert_type(wi.default_generator().next_stream(), int)
assert_type(wi.initial_seed(), int)
assert_type(wi.stream_id("h.0.attn.c_attn.weight"), int)
assert_type(wi.philox4x32([0, 0, 0, 0], [1, 2]), Tuple[int, int, int, int])
assert_type(wi.default_threads(), int)
assert_type(wi.isa(), str)
assert_type(wi.STREAM_FORMAT, int)
assert_type(wi.compute_fans(conv, **wi.TORCH_AXES), wi.Fans)
assert_type(wi.xavier_uniform_(x, **wi.JAX_AXES, seed=1), npt.NDArray[np.float32])  # the documented spelling
assert_type(wi.compute_fans((3, 3, 16, 32), in_axis=-2, out_axis=-1).fan_in, int)
assert_type(wi.calculate_gain("leaky_relu", 0.2), float)
nonlinearities: Tuple[str, ...] = wi.NONLINEARITIES
assert_type(wi.recommend("gelu"), wi.Recommendation)
assert_type(wi.recommend("selu").apply(x, seed=1), npt.NDArray[np.float32])

# model level
spec: Dict[str, Any] = {"params": {"w": {"shape": [4, 4], "init": "xavier_uniform_"}}}
assert_type(wi.init_model(spec, seed=0), Dict[str, Any])
