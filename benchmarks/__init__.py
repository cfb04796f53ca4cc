"""Benchmarks comparing ngffkit with the reference implementations, side by side in one run."""
