"""Benchmarks: speed and scale of the data-sharing model (``python -m benchmarks``, ``make bench``),
and the plain-Mesa reference model it is measured against (``benchmarks/reference.py``)."""
