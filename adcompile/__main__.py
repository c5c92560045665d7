"""`python -m adcompile`: the same as the `adcompile` command."""

from adcompile.cli import main

raise SystemExit(main())
