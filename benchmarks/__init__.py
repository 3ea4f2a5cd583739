"""Benchmarks of the course: ``python -m benchmarks.bench`` (``make bench``)."""
