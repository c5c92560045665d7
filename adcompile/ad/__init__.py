"""Automatic differentiation as IR-to-IR passes: reverse and forward sweeps read the op table's
partials, and `products` builds gradients, jvp/vjp, Jacobians, Hessians and hvp from them.
"""
