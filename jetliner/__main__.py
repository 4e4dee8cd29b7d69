"""``python -m jetliner``: the command line."""

import sys

from jetliner.cli import main

sys.exit(main())
