"""``python -m unheard``."""

import sys

from unheard.cli import main

sys.exit(main())
