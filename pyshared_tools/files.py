"""Files written whole: to a temporary name next to the target, then renamed
over it, so a reader, or a rerun after a kill, sees the old text or the new,
never half of one."""

import os


def replace_text(path, text, durable=False):
    """Write `text` to `path` atomically; `durable`: on disk before the rename."""
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)
