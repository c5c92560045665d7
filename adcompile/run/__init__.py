"""Execution: the disk cache, the JIT loader, the NumPy interpreter, the block interpreter (VM),
the pointwise evaluation behind traces and graphs, and the backend registry.
"""
