"""``python -m mlopskit.cli``: the same as the ``mlopskit`` command."""

import sys

from ._app import main

sys.exit(main())
