"""`python -m registry [COMMAND]`: the console script; with no command, `serve`."""

from __future__ import annotations

import sys

from registry.cli import main

raise SystemExit(main(sys.argv[1:] or ["serve"]))
