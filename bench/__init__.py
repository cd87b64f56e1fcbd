"""Benchmarks: measured figures live here and in docs/benchmarks.md, never in timed tests."""
