"""bench: an ensemble benchmarking harness for unsupervised image clustering."""

__version__ = "0.1.0"
