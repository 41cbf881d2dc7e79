"""weightinit: fast, reproducible neural-network weight initialization.

A multithreaded C++ core draws every value from Philox4x32-10 streams (stream format v1:
element i of a fill depends only on seed, stream and i), so one seed gives the same weights
whatever the thread count, chunking, shard or machine.
"""
from ._version import __version__
from ._random import (
    Generator,
    constant,
    constant_,
    default_generator,
    default_threads,
    initial_seed,
    isa,
    manual_seed,
    normal,
    normal_,
    ones,
    ones_,
    philox4x32,
    random_bits,
    random_bits_,
    stream_id,
    trunc_normal,
    trunc_normal_,
    uniform,
    uniform_,
    zeros,
    zeros_,
)

# schemes, fans, gains, recommendations and framework defaults
from .fans import JAX_AXES, TORCH_AXES, Fans, compute_fans
from .gains import NONLINEARITIES, calculate_gain
from .schemes import (
    DISTRIBUTIONS,
    MODES,
    delta_orthogonal,
    delta_orthogonal_,
    dirac,
    dirac_,
    eye,
    eye_,
    glorot_normal,
    glorot_normal_,
    glorot_uniform,
    glorot_uniform_,
    he_normal,
    he_normal_,
    he_uniform,
    he_uniform_,
    kaiming_normal,
    kaiming_normal_,
    kaiming_uniform,
    kaiming_uniform_,
    lecun_normal,
    lecun_normal_,
    lecun_uniform,
    lecun_uniform_,
    martens_sparse,
    martens_sparse_,
    orthogonal,
    orthogonal_,
    sparse,
    sparse_,
    variance_scaling,
    variance_scaling_,
    xavier_normal,
    xavier_normal_,
    xavier_uniform,
    xavier_uniform_,
)
from .recommend import ACTIVATIONS, Recommendation, init_, recommend
from .defaults import TORCH_DEFAULT_KINDS, torch_default_
from .models import ModelSpec, Param, load_spec, save_spec
from .build import init_model
from .safetensors_io import DiskSpaceError, save_safetensors
from . import architectures
from .meanfield import critical_gain
from .diagnose import Diagnosis, diagnose
from .checkpoint_stats import CheckpointReport, inspect
