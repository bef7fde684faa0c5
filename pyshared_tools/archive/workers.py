"""Tasks read in worker processes, in input order, through the cache, with a progress bar.

Workers hash and read; only the parent process touches the cache, the store
and the output.  Records come back in the order of the tasks (imap), so
--jobs N prints what --jobs 1 prints.
"""

import functools
import os

from pyshared_tools.lazy import deb822

from .deb import file_sha256, read_deb
from .judge import unreadable_record
from .tree import read_tree

# Below this many tasks a pool costs more than it saves (each worker imports python-debian).
MIN_POOL_TASKS = 2


def read_task(task, supported, max_member_bytes, digest):
    """The record of one Task (top level: spawn-safe), with the reading process's pid."""
    if task.kind == "tree":
        record = read_tree(task.location, supported, max_member_bytes, index=task.index)
    elif task.kind == "missing":
        record = unreadable_record(task.index, task.location, None, task.hint, task.problem)
    else:
        record = read_deb(
            task.location,
            supported,
            max_member_bytes,
            index=task.index,
            digest=digest,
            expected_sha256=task.sha256,
            hint=task.hint,
        )
    return record, os.getpid()


def _pool(jobs, work):
    if jobs <= 1 or work < MIN_POOL_TASKS:
        return None
    import multiprocessing
    import threading

    # Forked workers start with the library this process has imported (spawned
    # ones import it again, each, which weighs on small scans).  They touch
    # neither the cache nor the output.  A fork copies only the calling thread:
    # with another thread running (tqdm's monitor), in whatever step it holds a
    # lock, spawn instead.
    method = "fork" if threading.active_count() == 1 else "spawn"
    if method == "fork":
        deb822()
    return multiprocessing.get_context(method).Pool(min(jobs, work))


class Reader:
    """Reads tasks; `from_cache` and `readers` (pids of the processes that read) say how."""

    def __init__(self, supported, max_member_bytes, jobs, cache=None, progress=None):
        self.supported = [tuple(version) for version in supported]
        self.max_member_bytes = max_member_bytes
        self.jobs = jobs
        self.cache = cache
        self.progress = progress
        self.from_cache = 0
        self.readers = set()

    def records(self, tasks):
        """Yield the record of every task, in task order."""
        pool = _pool(self.jobs, len(tasks))
        mapper = functools.partial(pool.imap, chunksize=1) if pool else map
        try:
            yield from self._records(tasks, mapper)
        finally:
            if pool:
                pool.close()
                pool.join()

    def _records(self, tasks, mapper):
        cached = {}
        misses = tasks
        if self.cache is not None:
            cached, misses = self._lookup(tasks, mapper)
        read = functools.partial(
            read_task,
            supported=self.supported,
            max_member_bytes=self.max_member_bytes,
            digest=self.cache is not None,
        )
        fresh = mapper(read, misses)
        for task in tasks:
            if task.index in cached:
                record = dict(self.cache.get(cached.pop(task.index)), index=task.index, deb=task.location)
                self.from_cache += 1
            else:
                record, pid = next(fresh)
                self.readers.add(pid)
                if self.cache is not None:
                    self.cache.put(record)
            if self.progress is not None:
                self.progress.update(1)
            yield record
        if self.cache is not None:
            self.cache.connection.commit()

    def _lookup(self, tasks, mapper):
        """({index: sha256 of a cached record}, [tasks to read]).  A Packages index names the sha256
        (apt checked it on download); other .debs are hashed by the workers; trees are never cached."""
        hashed = [task for task in tasks if task.kind == "deb" and task.sha256 is None]
        sums = dict(
            zip((t.index for t in hashed), mapper(file_sha256, [t.location for t in hashed]), strict=True)
        )
        cached, misses = {}, []
        for task in tasks:
            sha = task.sha256 or sums.get(task.index)
            if sha and task.kind == "deb" and self.cache.has(sha):
                cached[task.index] = sha
            else:
                misses.append(task)
        return cached, misses
