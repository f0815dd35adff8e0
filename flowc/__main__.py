"""`python -m flowc`: the same command line as the `flowc` script."""

import sys

from flowc.cli import main

sys.exit(main())
