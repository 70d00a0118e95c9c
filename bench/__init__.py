"""Benchmarks: scripts that print numbers (bench/README.md). Never run by the tests or CI."""
