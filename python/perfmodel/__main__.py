"""``python -m perfmodel``: the same as the ``perfmodel`` console script."""

from .cli import main

raise SystemExit(main())
