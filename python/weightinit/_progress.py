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


def byte_bar(total: int, desc: str, progress: Optional[bool] = None) -> Any:
    """A bar counting ``total`` bytes (size and rate, decimal units) on stderr.

    ``progress=None`` shows it only when stderr is a terminal and tqdm is installed (the
    ``[progress]`` extra); ``True`` shows it whenever tqdm is installed; ``False`` never.
    """
    if progress is False:
        return _Null()
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        if not (isatty and isatty()):
            return _Null()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Null()
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1000,
                file=sys.stderr, dynamic_ncols=True, leave=True, mininterval=0.25)
