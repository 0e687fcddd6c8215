"""`python -m streams.cli COMMAND …`: the console script without the installed wrapper."""

import sys

from streams.cli import main

sys.exit(main())
