"""Benchmark of this library, side by side with the peer harness in ../shared/bench/ (see BENCHMARKS.md)."""
