"""The returnee-linkage benchmark: `python -m bench` (or `make bench`).

An open-loop load generator drives the five real services through the
committee's and the police's HTTP APIs at fixed rates; the same message
pattern written directly on kombu and pymongo gives the ceiling. See
BENCHMARKS.md for the method and the latest results.
"""
