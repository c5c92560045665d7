"""The IR layer: nodes, the op table (one row per primitive, every column), construction-time
rewrites and the hash-consed graph with its single door. Imports nothing above it.
"""
