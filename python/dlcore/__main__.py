"""``python -m dlcore ...``: the same as the ``dlcore`` command (see dlcore.cli)."""
import sys

from .cli import main

sys.exit(main())
