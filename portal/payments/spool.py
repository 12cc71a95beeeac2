"""Holding a checked file's entries between the check and the posting, in chunks.

The import reads a file once, checking all of it, before it writes anything. What it
read goes to an unnamed temporary file, one pickled chunk at a time, so posting does not
parse the XML a second time and memory holds one chunk, whatever the file's size. The
temporary file is this process's own (unlinked at creation): nothing else can write
the pickles it reads back.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from typing import IO

from portal.payments.entries import StatementEntry


def spool(entries: Iterable[StatementEntry], out: IO[bytes], size: int) -> int:
    """Write ``entries`` to ``out`` in pickled lists of ``size``; return how many."""
    chunk: list[StatementEntry] = []
    total = 0
    for entry in entries:
        chunk.append(entry)
        if len(chunk) == size:
            pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
            total += len(chunk)
            chunk = []
    if chunk:
        pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
        total += len(chunk)
    return total


def unspool(source: IO[bytes]) -> Iterator[list[StatementEntry]]:
    """The chunks :func:`spool` wrote to ``source``, from its start."""
    source.seek(0)
    while True:
        try:
            yield pickle.load(source)  # noqa: S301 - our own unlinked temporary file, see above
        except EOFError:
            return
