"""`python -m tinystack_component plan [--stack dev] [--json] [--out DIR]`."""

import sys

from .plan.cli import main

sys.exit(main())
