"""`python -m adcompile`: the same as the `adcompile` command."""

from adcompile.tools.cli import main

raise SystemExit(main())
