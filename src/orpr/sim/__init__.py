"""The lost-sales simulator: the numba kernel, its plain-Python specification, and the metrics of a simulated window."""
