"""``python -m chainrule.engine``: the ``chainrule`` console command."""

import sys

from .console.cli import main

sys.exit(main())
