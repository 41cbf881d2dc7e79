"""``python -m weightinit``: the command line (see weightinit.cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
