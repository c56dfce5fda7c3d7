"""Measurement commands: evaluate, benchmark_*, measure_*, calibrate_*, train_*."""
