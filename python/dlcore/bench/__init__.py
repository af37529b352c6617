"""Benchmark drivers behind ``dlcore bench``: dlcore against its peers, as tables and charts."""
