"""``python -m chainrule.engine``: the ``chainrule`` console command."""

import sys

from .console.cli import main

if __name__ == "__main__":  # imported (by doctest's search, say), it runs nothing
    sys.exit(main())
