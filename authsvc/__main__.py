"""``python -m authsvc``: the same as the ``authsvc`` console script."""

import sys

from authsvc.cli import main

sys.exit(main())
