"""dh-pyshared: move Python modules into one shared directory under PEP 3149 names."""

__version__ = "0.1.0"

# The one spelling of facts several modules need (this module imports nothing).
TOOL_NAME = "dh_pyshared"
# The default shared directory, tree-relative (--shared-dir takes it with a leading slash).
SHARED_DIR = "usr/lib/python3/dist-packages"
