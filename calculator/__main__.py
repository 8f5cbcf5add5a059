"""``python -m calculator``: see `calculator.cli`."""

import sys

from calculator.cli import main

sys.exit(main())
