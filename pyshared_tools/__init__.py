"""dh-pyshared: move Python modules into one shared directory under PEP 3149 names."""

__version__ = "0.1.0"
