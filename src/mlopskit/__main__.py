"""``python -m mlopskit``: the same as the ``mlopskit`` command."""

import sys

from .cli import main

sys.exit(main())
