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

# -- schemes (fans, gains, schemes, recommend, defaults): re-exported below --
