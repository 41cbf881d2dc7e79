"""Sharded parameters (torch.distributed DTensor, FSDP2): each rank fills its own shard.

A DTensor placed with ``Shard(d)`` or ``Replicate()`` on each mesh dimension holds, on every
rank, one N-d box of the global tensor: ``compute_local_shape_and_global_offset`` gives its
shape and first index. Filling that box with weightinit's box fill (``global_shape=``,
``start=``; fans from the global shape) writes exactly the values the single-process fill puts
there, so the gathered parameter equals the unsharded one, bit for bit, whatever the world size
and with no communication. :func:`weightinit.torch.init_module` does this for every DTensor
parameter; :func:`fill_shard_` is the plain function for one rank's shard of one tensor.
``Partial`` (and strided, FSDP2 + TP ``_StridedShard``) placements are refused: their local
tensor is not a box of the global one.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional, Sequence, Tuple

import torch

from .. import _random
from ..registry import initializer

__all__ = ["fill_shard_", "is_dtensor", "local_box"]


def is_dtensor(t: Any) -> bool:
    """Whether ``t`` is a DTensor (without importing torch.distributed: none exists until it is)."""
    mod = sys.modules.get("torch.distributed.tensor")
    return mod is not None and isinstance(t, mod.DTensor)


def local_box(t: Any) -> Tuple[Any, Tuple[int, ...], Tuple[int, ...]]:
    """``(local tensor, global shape, start)`` of this rank's shard of the DTensor ``t``: the local
    tensor (sharing ``t``'s memory) is the box at ``start`` of a tensor of the global shape."""
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    for p in t.placements:
        if type(p) not in (Shard, Replicate):  # exact types: _StridedShard subclasses Shard
            raise ValueError(
                f"cannot fill a DTensor placed as {tuple(t.placements)}: each placement must be "
                f"Shard(dim) or Replicate() (a Partial or strided shard is not a box of the global tensor)")
    shape, start = compute_local_shape_and_global_offset(t.shape, t.device_mesh, t.placements)
    local = t.to_local()
    if tuple(local.shape) != tuple(shape):  # pragma: no cover - an uneven layout torch did not describe
        raise ValueError(f"the local shard has shape {tuple(local.shape)}, its placements say {tuple(shape)}")
    return local, tuple(t.shape), tuple(int(s) for s in start)


def fill_target(name: str, t: Any, call: Any) -> Tuple[Any, Dict[str, Any]]:
    """The tensor :func:`weightinit.torch.init_module` writes for ``t`` and the box keywords of
    its fill: the local shard and ``{global_shape, start}`` for a DTensor, else ``t`` and ``{}``.
    Checks the target (writes nothing)."""
    box: Dict[str, Any] = {}
    if is_dtensor(t):
        if getattr(call, "takes_box", True) is False:
            raise TypeError(f"{name!r} is a sharded DTensor: a callable rule receives a whole tensor and "
                            "cannot fill one shard of it; name an initializer instead (e.g. "
                            "{'init': 'normal_', 'std': 0.02})")
        t, g, s = local_box(t)
        box = {"global_shape": g, "start": s}
    if t.dtype == torch.int64:
        return t, box
    t = t.detach()
    _random.as_target(t, name)
    return t, box


def fill_shard_(local: Any, global_shape: Sequence[int], start: Sequence[int], init: str, *args: Any,
                seed: Optional[int] = None, stream: Any = None, threads: Optional[int] = None,
                generator: Any = None, **kwargs: Any) -> Any:
    """Fills ``local`` -- one rank's shard, the box at ``start`` of a tensor of ``global_shape`` --
    with the weightinit initializer named ``init`` (``"kaiming_uniform_"``, ``"normal_"``, ...) and
    its arguments; returns ``local``. The shard gets exactly the values the whole-tensor fill
    ``init(full, *args, seed=seed, stream=stream, **kwargs)`` puts in that box (fans from
    ``global_shape``), so every rank filling its own shard makes, together, the single-process
    tensor. E.g. rank r of 4 with rows sharded::

        fill_shard_(w_local, (4096, 1024), (1024 * r, 0), "kaiming_normal_", seed=0, stream="w")
    """
    ini = initializer(init)
    if ini.random:
        kwargs.update(seed=seed, stream=stream, generator=generator)
    elif seed is not None or stream is not None or generator is not None:
        raise TypeError(f"{init} draws no random numbers: seed, stream and generator do not apply")
    if "threads" in ini.signature.parameters:
        kwargs["threads"] = threads
    target = local.detach() if isinstance(local, torch.Tensor) else local
    ini.fn(target, *args, global_shape=tuple(global_shape), start=tuple(start), **kwargs)
    return local
