"""``python -m canary.cli ...`` is the ``canary`` command (the kubectl plugin shim runs this)."""

import sys

from canary.cli import main

sys.exit(main())
