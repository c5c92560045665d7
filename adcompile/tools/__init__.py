"""Tools built on the public API: trace tables, gradient checks and the command line."""
