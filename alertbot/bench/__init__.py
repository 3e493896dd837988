"""Benchmarks and their workload generators (``alertbot bench ...``).

Nothing in the rest of the package imports from here: a benchmark is a client of the
pipeline, measured against the alternative a user would pick, in the same run.
"""
