"""Write an initialized model straight into a .safetensors file, in bounded memory.

:func:`save_safetensors` lays out the file (header, then every tensor), reserves its space,
maps it and lets the core fill each tensor where it lies in the mapping, a window of at most
``window`` bytes at a time; each finished window is dropped from the process's memory
(``madvise(MADV_DONTNEED)``: the written pages stay in the page cache, which the kernel writes
back), so peak RSS is about one window whatever the model's size. A tensor read back from the
file equals :func:`weightinit.init_model`'s for that parameter, and a seed gives the same bytes
for any thread count.

The file is written under a temporary name in the destination's directory and renamed over
``path`` only when complete; on any error (or Ctrl-C) the temporary file is removed and an
existing file at ``path`` is left as it was.

File format (https://github.com/huggingface/safetensors): 8 bytes little-endian header length
N, N bytes of JSON header (padded with spaces so the data starts 8-byte aligned), then the
tensors' bytes, C order, little endian, back to back.
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import secrets
import shutil
import struct
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _random
from ._progress import byte_bar
from .build import as_spec, can_window, check_param, fill_param, resolve_seed
from .models import Param, np_dtype

__all__ = ["save_safetensors", "safetensors_layout", "DiskSpaceError"]

_ST_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
              "int64": "I64"}
# bytes filled per step: peak RSS is about this plus the interpreter (~40 MB); 8 to 512 MiB
# measured the same speed (llama-1b bf16), the disk being the limit
DEFAULT_WINDOW = 32 << 20
_PAGE = mmap.ALLOCATIONGRANULARITY
_MADV_DONTNEED = getattr(mmap, "MADV_DONTNEED", 4)


class DiskSpaceError(OSError):
    """Not enough free space for the file (checked before anything is written)."""


def safetensors_layout(spec: Any, dtype: Any = "float32",
                       metadata: Optional[Mapping[str, str]] = None
                       ) -> Tuple[bytes, List[Tuple[str, Param, np.dtype, int]], int]:
    """(header bytes incl. the 8-byte length, [(name, param, dtype, data offset)], file size).

    Tensors are stored by decreasing item size (then spec order), so every tensor starts aligned
    to its item size; the data section starts at a multiple of 8.
    """
    spec = as_spec(spec)
    model = _random.parse_dtype(dtype).name
    entries = [(n, p, np_dtype(p.dtype or model)) for n, p in spec.items()]
    entries.sort(key=lambda e: -e[2].itemsize)  # stable: spec order within an item size
    header: Dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    layout = []
    pos = 0
    for n, p, dt in entries:
        size = p.size * dt.itemsize
        header[n] = {"dtype": _ST_DTYPES[dt.name], "shape": list(p.shape),
                     "data_offsets": [pos, pos + size]}
        layout.append((n, p, dt, pos))
        pos += size
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # the format allows trailing spaces in the header
    head = struct.pack("<Q", len(text)) + text
    return head, [(n, p, dt, len(head) + off) for n, p, dt, off in layout], len(head) + pos


def _check_space(directory: str, need: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < need:
        raise DiskSpaceError(
            errno.ENOSPC,
            f"not enough free disk space in {directory}: the file needs {_human(need)}, "
            f"{_human(free)} is free")


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def _reserve(fd: int, size: int) -> None:
    """Allocates the file's blocks up front (ENOSPC now, not as a SIGBUS in the mapping)."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None:
        try:
            fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    os.ftruncate(fd, size)  # no fallocate here: a sparse file


def _advise(mm: mmap.mmap, option: int, start: int, end: int) -> None:
    lo = start - start % _PAGE
    if end > lo and hasattr(mm, "madvise"):
        try:
            mm.madvise(option, lo, end - lo)
        except (OSError, ValueError):  # unsupported advice: only memory use or speed changes
            pass


def save_safetensors(spec: Any, path: Union[str, os.PathLike], seed: Optional[int] = None,
                     dtype: Any = "float32", *, threads: Optional[int] = None,
                     progress: Optional[bool] = None, metadata: Optional[Mapping[str, str]] = None,
                     generator: Any = None, window: int = DEFAULT_WINDOW,
                     fsync: bool = False) -> str:
    """Initializes ``spec`` and writes it to ``path`` as a .safetensors file; returns the path.

    ``spec``: a :class:`~weightinit.models.ModelSpec`, a built-in architecture name or a
    mapping; ``seed``, ``dtype``, ``threads``: as :func:`weightinit.init_model`, whose arrays the
    file's tensors equal bit for bit. The header's ``__metadata__`` has ``format: pt``, the seed,
    dtype, weightinit version and the spec (JSON), plus ``metadata``'s string pairs.

    Memory: tensors are filled in place in a shared mapping of the file, ``window`` bytes at a
    time, each window released when done, so peak RSS stays near ``window`` (32 MiB) plus the
    interpreter, for any model size. (Initializers that are not element-wise -- orthogonal_,
    sparse_, eye_, dirac_ -- fill their whole tensor at once.) ``fsync=True`` waits for the data
    to reach the disk before the rename; by default the kernel writes the page cache back
    in its own time, as ``torch.save`` and safetensors' ``save_file`` do.

    ``progress``: a tqdm bar of bytes and rate on stderr -- by default only when stderr is a
    terminal (``True`` forces it, ``False`` silences it). Errors: :class:`DiskSpaceError` if the
    file system has less free space than the file needs, checked before writing; ``OSError``
    for an unwritable path; ``ValueError``/``TypeError`` for a bad spec, all before anything is
    written. Nothing is ever left under ``path`` unless the write completed.
    """
    from . import __version__

    spec = as_spec(spec)
    key = resolve_seed(seed, generator)
    model = _random.parse_dtype(dtype).name
    _random._check_threads(threads)
    if isinstance(window, bool) or not isinstance(window, int) or window < 4096:
        raise ValueError(f"window must be an int >= 4096 (bytes), got {window!r}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    for n, p in spec.items():
        check_param(p, n, np_dtype(p.dtype or model))
    meta = {"format": "pt", "weightinit.version": __version__, "weightinit.stream_format": "1",
            "weightinit.seed": str(key), "weightinit.dtype": model,
            "weightinit.spec": spec.to_json(indent=None)}
    if metadata:
        meta.update({str(k): str(v) for k, v in metadata.items()})
    head, layout, total = safetensors_layout(spec, model, meta)

    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"{path} is a directory", path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"directory {directory} does not exist", directory)
    _check_space(directory, total)
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL
        fd = os.open(tmp, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror}", path) from None
    mm = None
    bar = byte_bar(total, os.path.basename(path), progress)
    try:
        try:
            _reserve(fd, total)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
                raise DiskSpaceError(exc.errno, f"not enough disk space for {path} "
                                                f"({_human(total)}): {exc.strerror}") from None
            raise
        mm = mmap.mmap(fd, total, access=mmap.ACCESS_WRITE)  # shared, read-write
        mm[:len(head)] = head
        bar.update(len(head))
        _fill_all(mm, layout, key, threads, window, bar)
        if fsync:
            mm.flush()
        mm.close()
        mm = None
        if fsync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
        if fsync:
            _fsync_dir(directory)
    except BaseException:
        if mm is not None:
            try:
                mm.close()
            except BufferError:  # pragma: no cover - an array still views the mapping
                pass
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        bar.close()
    return path


def _fill_all(mm: mmap.mmap, layout, key: int, threads: Optional[int], window: int, bar) -> None:
    for name, p, dt, start in layout:
        nbytes = p.size * dt.itemsize
        if nbytes == 0:
            continue
        if can_window(p):
            step = max(window // dt.itemsize // 1024 * 1024, 1024)  # whole pairs of normals
        else:
            step = p.size
        for e0 in range(0, p.size, step):
            n = min(step, p.size - e0)
            lo = start + e0 * dt.itemsize
            hi = lo + n * dt.itemsize
            arr = np.frombuffer(mm, dtype=dt, count=n, offset=lo)
            if step == p.size:
                arr = arr.reshape(p.shape)
            fill_param(arr, p, name, key, offset=e0, threads=threads)
            del arr
            _advise(mm, _MADV_DONTNEED, lo, hi)
            bar.update(hi - lo)


def _fsync_dir(directory: str) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on a directory
        pass
    finally:
        os.close(dfd)
