"""Measurement commands: evaluate, benchmark_*, measure_*, calibrate_*, train_*,
generate_invoices (labelled synthetic training data)."""
