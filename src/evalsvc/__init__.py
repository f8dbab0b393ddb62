"""evalsvc: evaluate and rank cadres and units (Directive 24-CT/TU, Decree 335/2025)."""

__version__ = "0.1.0"
