"""Write an initialized model straight into a .safetensors file, in bounded memory.

:func:`save_safetensors` lays out the file (header, then every tensor), reserves its space,
maps it and lets the core fill each tensor where it lies in the mapping, a window of at most
``window`` bytes at a time; each finished window is dropped from the process's memory
(``madvise(MADV_DONTNEED)``: the written pages stay in the page cache, which the kernel writes
back), so peak RSS is about one window whatever the model's size. A tensor read back from the
file equals :func:`weightinit.init_model`'s for that parameter, and a seed gives the same bytes
for any thread count.

The file is written under a temporary name in the destination's directory and renamed over
``path`` only when complete; on any error, Ctrl-C, SIGTERM or SIGHUP the temporary file is
removed and an existing file at ``path`` is left as it was. ``path`` follows the file system's
rules: a symlink is written through (the temporary file goes beside the symlink's final target,
which the rename replaces), and an existing target that is not a regular file (a directory,
device node, FIFO, socket, or a symlink to one) is refused.

Temporary files are named ``.<target name>.<pid>-<boot>-<start>.<random>.tmp`` (``boot``: the
first 8 hex digits of the kernel's boot id, ``start``: the writer's start time in clock ticks
since boot, from /proc) and locked (``flock``) by their writer while it runs. Only a SIGKILL, a
power loss or a crash can leave one behind; every write to a target first removes that target's
temporary files whose lock is free *and* whose writer is gone (no process with that pid and
start time in this boot). The lock protects a live writer in another pid namespace (a container
sharing the directory); the pid check protects a writer between creating and locking its file.

File format (https://github.com/huggingface/safetensors): 8 bytes little-endian header length
N, N bytes of JSON header (padded with spaces so the data starts 8-byte aligned), then the
tensors' bytes, C order, little endian, back to back.
"""

from __future__ import annotations

import contextlib
import errno
import json
import mmap
import os
import re
import secrets
import shutil
import signal
import stat
import struct
import threading
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _random
from ._progress import byte_bar, check_progress
from ._random import DTypeLike, Generator
from .build import SpecLike, as_spec, can_window, check_param, fill_param, human_bytes as _human, resolve_seed
from .build import available_memory as _available_memory, check_memory as _check_memory, working_memory
from .models import Param, np_dtype

__all__ = ["save_safetensors", "plan_safetensors", "Plan", "safetensors_layout",
           "DiskSpaceError", "Terminated",
           "check_memory", "remove_stale_temp_files", "signals_raise", "working_memory"]

_ST_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
              "int64": "I64"}
# bytes filled per step: peak RSS is about this plus the interpreter (~40 MB); 8 to 512 MiB
# measured the same speed (llama-1b bf16), the disk being the limit
DEFAULT_WINDOW = 32 << 20
_PAGE = mmap.ALLOCATIONGRANULARITY
_MADV_DONTNEED = getattr(mmap, "MADV_DONTNEED", 4)


class DiskSpaceError(OSError):
    """Not enough free space for the file (checked before anything is written)."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived during a write (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


_CATCH = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def signals_raise(redeliver: bool = True) -> Iterator[None]:
    """While active, SIGTERM and SIGHUP raise :class:`Terminated` (so ``finally`` blocks and
    cleanups run) instead of ending the process on the spot.

    Only signals whose handler is the default one are taken over, and only in the main thread
    (Python runs handlers there); a handler the program installed is left alone. With
    ``redeliver`` the signal is sent again with the default handler restored once the
    ``Terminated`` has unwound to here, so the process still ends by that signal (exit status
    128 + signal in a shell) -- only later, and clean.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    taken = {}
    for sig in _CATCH:
        if signal.getsignal(sig) is signal.SIG_DFL:
            taken[sig] = signal.signal(sig, _raise_terminated)
    try:
        yield
    except Terminated as exc:
        for sig, old in taken.items():
            signal.signal(sig, old)
        if redeliver and exc.signum in taken:
            signal.raise_signal(exc.signum)
        raise
    finally:
        for sig, old in taken.items():
            signal.signal(sig, old)


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


_KINDS = ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
          (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"))


def _resolve_target(path: str, overwrite: bool) -> str:
    """The real file ``path`` names (symlinks resolved), refused unless it is absent or a
    regular file that may be replaced."""
    try:
        st: Optional[os.stat_result] = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        st = None  # absent, or a dangling symlink: written through to where it points
    except OSError as exc:  # ELOOP, ENOTDIR, EACCES: the file system's own words
        raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror}", path) from None
    real = os.path.realpath(path)
    shown = path if real == os.path.abspath(path) else f"{path} (-> {real})"
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{shown} is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            kind = next((k for test, k in _KINDS if test(st.st_mode)), "special file")
            raise FileExistsError(errno.EEXIST, f"{shown} is a {kind}, not a regular file; "
                                                "refusing to replace it", path)
        if not overwrite:
            raise FileExistsError(errno.EEXIST, f"{shown} exists and overwrite=False", path)
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"directory {directory} does not exist", directory)
    return real


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip().replace("-", "")[:8]
    except OSError:
        return "0" * 8  # no /proc: pids alone decide


def _start_ticks(pid: Union[int, str]) -> Optional[int]:
    """Start time of process ``pid`` in clock ticks since boot (/proc/PID/stat field 22)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            tail = f.read().rsplit(b")", 1)[1].split()  # the name in (...) may hold spaces
        return int(tail[19])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int, boot: str, start: int) -> bool:
    """Whether the process that made a temporary file still runs."""
    if boot != _boot_id():
        return False
    if os.path.isdir("/proc/self"):
        return _start_ticks(pid) == start  # a recycled pid has another start time
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def _temp_name(real: str) -> str:
    me = os.getpid()
    return os.path.join(os.path.dirname(real),
                        f".{os.path.basename(real)}.{me}-{_boot_id()}-{_start_ticks(me) or 0}."
                        f"{secrets.token_hex(4)}.tmp")


def remove_stale_temp_files(path: Union[str, os.PathLike]) -> List[str]:
    """Removes the temporary files that killed writes of ``path`` left (see the module's
    docstring for how a file is judged stale); returns the paths removed."""
    real = os.path.realpath(os.fspath(path))
    directory, base = os.path.split(real)
    pattern = re.compile(rf"\.{re.escape(base)}\.(\d+)-([0-9a-f]{{8}})-(\d+)\.[0-9a-f]{{8}}\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    removed = []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or _alive(int(m[1]), m[2], int(m[3])):
            continue
        tmp = os.path.join(directory, name)
        try:
            fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:  # gone already, a symlink, or not ours to open
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode) or not _try_lock(fd):
                continue  # a live writer still holds it
            os.unlink(tmp)
            removed.append(tmp)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    return removed


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # pragma: no cover - a file system without locks: the pid check decides
        return True
    return True


def check_memory(spec: Any) -> None:
    """Raises MemoryError (one line, naming the tensor) if a tensor's initializer needs more
    working memory than is available now; element-wise initializers need none (the file's
    pages are written back by the kernel, so they do not count)."""
    _check_memory(as_spec(spec), available=_available_memory())


def _check_space(directory: str, need: int) -> None:
    usage = shutil.disk_usage(directory)
    free = usage.free
    if usage.total == 0:  # a pseudo file system (procfs, sysfs) reports nothing to go by
        return
    if free < need:
        raise DiskSpaceError(
            errno.ENOSPC,
            f"not enough free disk space in {directory}: the file needs {_human(need)}, "
            f"{_human(free)} is free")


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


def save_safetensors(spec: SpecLike, path: Union[str, os.PathLike], seed: Optional[int] = None,
                     dtype: DTypeLike = "float32", *, threads: Optional[int] = None,
                     progress: Optional[bool] = None, metadata: Optional[Mapping[str, str]] = None,
                     generator: Optional[Generator] = None, window: int = DEFAULT_WINDOW,
                     fsync: bool = False, overwrite: bool = True, client: Any = None) -> str:
    """Initializes ``spec`` and writes it to ``path`` as a .safetensors file; returns the path.

    ``spec``: a :class:`~weightinit.models.ModelSpec`, a built-in architecture name or a
    mapping; ``seed``, ``dtype``, ``threads``: as :func:`weightinit.init_model`, whose arrays the
    file's tensors equal bit for bit. The header's ``__metadata__`` has ``format: pt``, the seed,
    dtype, weightinit version and the spec (JSON), plus ``metadata``'s string pairs.

    Memory: tensors are filled in place in a shared mapping of the file, ``window`` bytes at a
    time, each window released when done, so peak RSS stays near ``window`` (32 MiB) plus the
    interpreter, for any model size. (Initializers that are not element-wise -- orthogonal_,
    sparse_, eye_, dirac_ -- fill their whole tensor at once; orthogonal_ needs about five
    float64 copies of its matrix, checked against the available memory before starting.)
    ``fsync=True`` waits for the data to reach the disk before the rename; by default the
    kernel writes the page cache back in its own time, as ``torch.save`` and safetensors'
    ``save_file`` do.

    ``path``: a symlink is written through; an existing directory, device node, FIFO or socket
    (or a symlink to one) is refused. ``overwrite``: an existing regular file is replaced when
    True -- the default, as ``torch.save``, safetensors' ``save_file`` and ``numpy.save`` do --
    and refused with :class:`FileExistsError` when False, both before anything is written and
    atomically at the end (a file that appears meanwhile is not replaced either). The
    ``weightinit init`` command refuses unless given ``--force``.

    ``progress``: a tqdm bar of bytes and rate on stderr -- by default only when stderr is a
    terminal (``True`` forces it, ``False`` silences it). Errors, all before anything is written:
    ``ValueError``/``TypeError`` for a bad spec or argument; :class:`MemoryError` if an
    initializer needs more working memory than is available; ``OSError`` with the file system's
    own reason for a target that cannot be written, :class:`DiskSpaceError` if the file system
    has less free space than the file needs. Nothing is ever left under ``path`` unless the
    write completed: on an exception, Ctrl-C, SIGTERM or SIGHUP the temporary file is removed
    (in the main thread SIGTERM/SIGHUP, when they have their default handler, are delivered
    again after the cleanup, so the process still ends by them). Before writing, temporary
    files of ``path`` left by killed writers are removed (see the module's docstring).

    ``client``: a ``dask.distributed.Client`` whose workers write the tensors instead of this
    process. This process plans and checks everything, creates and reserves the temporary file
    and writes the header; then each task -- a run of about ``nbytes / (4 * workers)`` contiguous
    bytes (16 KiB to 256 MiB): whole tensors, or element ranges of the element-wise ones -- opens
    the temporary file by its path in the worker process, maps its own byte range and fills it.
    The workers must see ``path``'s directory as this process does (one machine, or a shared file
    system). The file is byte-identical to the one written without ``client`` and published the
    same way: renamed over ``path`` only after every task succeeded; on a failed task or a lost
    worker (``distributed.KilledWorker``) the remaining tasks are cancelled, the temporary file
    is removed and the error raised here.
    """
    plan = plan_safetensors(spec, path, seed, dtype, metadata=metadata, generator=generator,
                            overwrite=overwrite)
    _random._check_threads(threads)
    if isinstance(window, bool) or not isinstance(window, int) or window < 4096:
        raise ValueError(f"window must be an int >= 4096 (bytes), got {window!r}")
    check_progress(progress)
    if client is not None:
        _check_client(client)
    remove_stale_temp_files(plan.real_path)
    with signals_raise():
        _write(plan, threads, window, fsync, overwrite, progress, client)
    return plan.path


class Plan(NamedTuple):
    """What :func:`save_safetensors` would write, every check passed (see
    :func:`plan_safetensors`)."""

    path: str  # as given
    real_path: str  # symlinks resolved: the file the rename replaces
    exists: bool  # a regular file is there now (replaced only with overwrite=True)
    seed: int
    dtype: str  # the model's dtype; a parameter may name its own
    header: bytes  # incl. the 8-byte length
    layout: List[Tuple[str, Param, np.dtype, int]]  # (name, param, dtype, data offset)
    nbytes: int  # the file's size


def plan_safetensors(spec: SpecLike, path: Union[str, os.PathLike], seed: Optional[int] = None,
                     dtype: DTypeLike = "float32", *, metadata: Optional[Mapping[str, str]] = None,
                     generator: Optional[Generator] = None, overwrite: bool = True) -> Plan:
    """Runs every check :func:`save_safetensors` makes before writing -- the spec's arguments,
    working memory, the target, free disk space -- and returns the :class:`Plan`; writes
    nothing (a dry run)."""
    from . import STREAM_FORMAT, __version__

    spec = as_spec(spec)
    key = resolve_seed(seed, generator)
    model = _random.parse_dtype(dtype).name
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    for n, p in spec.items():
        check_param(p, n, np_dtype(p.dtype or model))
    check_memory(spec)
    meta = {"format": "pt", "weightinit.version": __version__, "weightinit.stream_format": str(STREAM_FORMAT),
            "weightinit.seed": str(key), "weightinit.dtype": model,
            "weightinit.spec": spec.to_json(indent=None)}
    if metadata:
        meta.update({str(k): str(v) for k, v in metadata.items()})
    head, layout, total = safetensors_layout(spec, model, meta)
    real = _resolve_target(path, overwrite)
    _check_space(os.path.dirname(real), total)
    return Plan(path, real, os.path.isfile(real), key, model, head, layout, total)


def _write(plan: Plan, threads: Optional[int], window: int, fsync: bool, overwrite: bool,
           progress: Optional[bool], client: Any = None) -> None:
    real, path, head, total = plan.real_path, plan.path, plan.header, plan.nbytes
    directory = os.path.dirname(real)
    tmp = _temp_name(real)
    try:
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL
        fd = os.open(tmp, flags | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:  # name the file the user asked for, not the temporary one
        raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror}", path) from None
    mm = None
    bar = None
    try:
        _try_lock(fd)  # marks the file live for other writers' stale-file sweep
        try:
            _reserve(fd, total)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
                raise DiskSpaceError(exc.errno, f"not enough disk space for {path} "
                                                f"({_human(total)}): {exc.strerror}") from None
            raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror}", path) from None
        bar = byte_bar(total, os.path.basename(path), progress)
        if client is None:
            mm = mmap.mmap(fd, total, access=mmap.ACCESS_WRITE)  # shared, read-write
            mm[:len(head)] = head
            bar.update(len(head))
            _fill_all(mm, plan.layout, plan.seed, threads, window, bar)
            if fsync:
                mm.flush()
            mm.close()
            mm = None
        else:  # header first, then the workers fill the rest through mappings of their own
            os.pwrite(fd, head, 0)
            bar.update(len(head))
            _fill_distributed(client, tmp, plan, threads, window, fsync, bar)
        if fsync:
            os.fsync(fd)
        _publish(tmp, real, path, overwrite)
        os.close(fd)  # closing drops the lock: only after the file has its final name
        fd = -1
        if fsync:
            _fsync_dir(directory)
    except BaseException:
        if mm is not None:
            try:
                mm.close()
            except BufferError:  # pragma: no cover - an array still views the mapping
                pass
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if fd >= 0:
            os.close(fd)
        raise
    finally:
        if bar is not None:
            bar.close()


def _publish(tmp: str, real: str, path: str, overwrite: bool) -> None:
    """Gives the finished temporary file its final name."""
    if overwrite:
        os.replace(tmp, real)
        return
    try:
        os.link(tmp, real)  # fails if real exists, atomically: no file appearing meanwhile is lost
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, f"{path} appeared during the write and "
                                            "overwrite=False; it was left as it is", path) from None
    except OSError:  # a file system without hard links: the check before writing stands
        if os.path.lexists(real):
            raise FileExistsError(errno.EEXIST, f"{path} exists and overwrite=False",
                                  path) from None
        os.replace(tmp, real)
        return
    os.unlink(tmp)


def _fill_all(mm: mmap.mmap, layout: List[Tuple[str, Param, np.dtype, int]], key: int,
              threads: Optional[int], window: int, bar: Any) -> None:
    _fill_pieces(mm, 0, [(n, p, dt, start, 0, p.size) for n, p, dt, start in layout], key, threads,
                 window, bar)


# (name, param, dtype, data offset of the tensor in the file, first element, elements)
Piece = Tuple[str, Param, np.dtype, int, int, int]


def _fill_pieces(mm: mmap.mmap, base: int, pieces: List[Piece], key: int, threads: Optional[int],
                 window: int, bar: Any) -> None:
    """Fills each piece (a whole tensor, or a flat element range of a :func:`can_window` one)
    where it lies in ``mm``, a mapping of the file from byte ``base`` on, ``window`` bytes at a
    time, each window released when done."""
    for name, p, dt, start, first, count in pieces:
        if count == 0:
            continue
        if can_window(p):
            step = max(window // dt.itemsize // 1024 * 1024, 1024)  # whole pairs of normals
        else:
            step = p.size
        for e0 in range(first, first + count, step):
            n = min(step, first + count - e0)
            lo = start + e0 * dt.itemsize
            hi = lo + n * dt.itemsize
            arr = np.frombuffer(mm, dtype=dt, count=n, offset=lo - base)
            if n == p.size:
                arr = arr.reshape(p.shape)
            try:
                fill_param(arr, p, name, key, offset=e0, threads=threads)
            except (ValueError, TypeError) as exc:  # a check only the fill makes: name the tensor
                raise type(exc)(f"{name} ({p.init}): {exc}") from None
            del arr
            _advise(mm, _MADV_DONTNEED, lo - base, hi - base)
            bar.update(hi - lo)


# ------------------------------------------------------------------ one file, many dask workers

# bytes per task of a distributed write: about four tasks per worker, within these bounds
_TASK_MIN, _TASK_MAX = 16 << 10, 256 << 20


def _tasks(layout: List[Tuple[str, Param, np.dtype, int]], task_bytes: int) -> List[List[Piece]]:
    """The file's tensors cut into tasks of about ``task_bytes`` contiguous bytes: element ranges
    of the tensors that can be filled a window at a time, whole tensors of the others."""
    tasks: List[List[Piece]] = []
    current: List[Piece] = []
    size = 0
    for name, p, dt, start in layout:
        step = (max(task_bytes // dt.itemsize // 1024 * 1024, 1024) if can_window(p)
                else max(p.size, 1))
        for e0 in range(0, p.size, step):
            n = min(step, p.size - e0)
            current.append((name, p, dt, start, e0, n))
            size += n * dt.itemsize
            if size >= task_bytes:
                tasks.append(current)
                current, size = [], 0
    if current:
        tasks.append(current)
    return tasks


def _fill_file_range(tmp: str, pieces: List[Piece], key: int, threads: Optional[int], window: int,
                     fsync: bool) -> int:
    """One task, in a worker process: maps the pieces' bytes of the preallocated temporary file
    ``tmp`` (opened, never created: a write that was abandoned and cleaned up stays gone) and
    fills them; returns the bytes written."""
    lo = pieces[0][3] + pieces[0][4] * pieces[0][2].itemsize
    last = pieces[-1]
    hi = last[3] + (last[4] + last[5]) * last[2].itemsize
    base = lo - lo % _PAGE
    fd = os.open(tmp, os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        mm = mmap.mmap(fd, hi - base, offset=base, access=mmap.ACCESS_WRITE)
        try:
            _fill_pieces(mm, base, pieces, key, threads, window, _NoBar())
            if fsync:
                mm.flush()
        finally:
            try:
                mm.close()
            except BufferError:  # a failed fill's traceback still views it: unmapped when freed
                pass
    finally:
        os.close(fd)
    return hi - lo


class _NoBar:
    def update(self, n: int) -> None:
        pass


def _check_client(client: Any) -> int:
    """The number of workers of a dask.distributed Client (TypeError for anything else)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - exercised only without distributed
        raise TypeError("client= needs dask.distributed: pip install 'weightinit[dask]'") from None
    if not isinstance(client, Client):
        raise TypeError(f"client must be a dask.distributed.Client or None, got {type(client).__name__}")
    return max(1, len(client.scheduler_info().get("workers", {})))


def _fill_distributed(client: Any, tmp: str, plan: "Plan", threads: Optional[int], window: int,
                      fsync: bool, bar: Any) -> None:
    """Every tensor byte of the file by the client's workers, each task through its own mapping;
    on any failure (an exception in a task, a worker lost) the other tasks are cancelled and the
    error raised here."""
    from distributed import as_completed

    workers = _check_client(client)
    data = plan.nbytes - len(plan.header)
    task_bytes = min(_TASK_MAX, max(_TASK_MIN, -(-data // (4 * workers))))
    tasks = _tasks(plan.layout, task_bytes)
    futures = [client.submit(_fill_file_range, tmp, pieces, plan.seed, threads, window, fsync, pure=False)
               for pieces in tasks]
    try:
        for fut in as_completed(futures, loop=client.loop):  # this client's, not the default client's
            bar.update(fut.result())
    except BaseException:
        client.cancel(futures, force=True)
        raise


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
