"""Benchmarks that print figures. Each compares a target with a baseline run beside it in the same
process, because these machines are shared and noisy: read the ratio, not the absolute times."""
