"""The one exception hierarchy; main() catches PysharedError once.

Every message reads ``<what>, <where>, <what to do>`` so that the line
``dh_pyshared: error: ...`` tells a maintainer the next step.
"""


class PysharedError(Exception):
    """Base class: a problem the maintainer must fix; the tree is untouched."""

    exit_code = 1

    def __init__(self, what, where=None, todo=None):
        self.what = what
        self.where = where
        self.todo = todo
        super().__init__(str(self))

    def __str__(self):
        return ", ".join(part for part in (self.what, self.where, self.todo) if part)


class UsageError(PysharedError):
    """Bad command line or environment."""

    exit_code = 2


class ControlError(PysharedError):
    """debian/control cannot be read or says something impossible."""


class TreeError(PysharedError):
    """The package tree holds something the tool must not process."""


class LinkError(TreeError):
    """A symlink leaves the package tree or loops."""


class CollisionError(TreeError):
    """Two sources would land on one destination with different content."""


class TagError(PysharedError):
    """A requested or found ABI tag is not one the target interpreter imports."""


class ExternalToolError(PysharedError):
    """An external command (dpkg-architecture, an interpreter) failed."""


class LeftoverError(PysharedError):
    """A warning promoted to an error by --strict."""


class AbiError(TreeError):
    """An extension module would not load where the package installs it."""


class AccessError(PysharedError):
    """A directory the run must change is not writable by the user running it."""


class SourceFileError(ControlError):
    """A file of the source package's debian/ the tool reads or writes (debian/control,
    the changelog, snippets, substvars, its records) is not a regular file
    inside real directories, or not UTF-8 text."""
