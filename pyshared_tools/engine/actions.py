"""The actions of a plan: what engine/journal.py carries out, one step each.

An Action is one line of the text plan and one object of the JSON plan
(docs/plan-schema.md): mkdir, copy, move, symlink, drop-needed,
rewrite-record, unlink, rmdir.
"""

from collections import namedtuple

# The reason of the unlink actions that dissolve a directory farm, and the tool
# --fix-libpython runs (journal.py carries both out).
DIRECTORY_FARM_LINK = "directory-farm-link"
PATCHELF = "patchelf"


class Action(
    namedtuple(
        "Action",
        (
            "op",  # str: mkdir, copy, move, symlink, drop-needed, unlink, rmdir
            "path",  # str
            "source",  # str | None
            "target",  # str | None
            "keep",  # str | None
            "reason",  # str | None
            "needed",  # str | None: drop-needed: the DT_NEEDED entry to drop
            "content",  # str | None: rewrite-record: the new text, JSON-encoded (one line)
        ),
        defaults=(None, None, None, None, None, None),
    )
):
    __slots__ = ()

    def to_dict(self):
        return {k: v for k, v in self._asdict().items() if v is not None}

    def describe(self):
        """One line of the text plan, in the words of the JSON plan (docs/plan-schema.md): the op first."""
        if self.op in ("move", "copy"):
            return f"{self.op} {self.source} -> {self.path}"
        if self.op == "symlink":
            reason = f" ({self.reason})" if self.reason else ""
            return f"symlink {self.path} -> {self.target}{reason}"
        if self.op == "unlink":
            return f"unlink {self.path} ({self.reason})"
        if self.op == "drop-needed":
            return f"drop-needed {self.needed} from {self.path}"
        if self.op == "rewrite-record":
            return f"rewrite-record {self.path} (its files' new names)"
        return f"{self.op} {self.path}"
