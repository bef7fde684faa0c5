"""pyshared-demo: a pure package with one C extension."""

from demo._speedups import built_with, word_count
from demo.core import answer

__all__ = ["answer", "built_with", "word_count"]
