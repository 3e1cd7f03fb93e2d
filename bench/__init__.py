"""Benchmarks for authsvc and the registry, side by side with Distribution 2.8 (bench/README.md)."""
