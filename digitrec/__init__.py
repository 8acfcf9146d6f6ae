"""digitrec: handwritten-digit recognition as a plain library (no Prefect imports)."""

__version__ = "0.1.0"
