"""A byte-counting progress bar: tqdm on a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from typing import Any, Optional


class _Null:
    def update(self, n: int) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


def check_progress(progress: Optional[bool]) -> None:
    """Refuses a bad ``progress``, and ``True`` when tqdm cannot be imported (never ignored
    silently); call before anything is written."""
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be None, True or False, got {progress!r}")
    if progress:
        try:
            import tqdm  # noqa: F401
        except ImportError as exc:
            raise ImportError(f"progress=True needs tqdm, a dependency of weightinit that is "
                              f"missing here (pip install tqdm): {exc}") from None


def byte_bar(total: int, desc: str, progress: Optional[bool] = None) -> Any:
    """A bar counting ``total`` bytes (size and rate, decimal units) on stderr.

    ``progress=None`` shows it only when stderr is a terminal; ``True`` always (see
    :func:`check_progress`); ``False`` never.
    """
    if progress is False:
        return _Null()
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        if not (isatty and isatty()):
            return _Null()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress=None: a terminal without tqdm stays quiet
        return _Null()
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1000,
                file=sys.stderr, dynamic_ncols=True, leave=True, mininterval=0.25)
