"""The run store: one SQLite file (stdlib ``sqlite3``), safe for several processes and threads at once.

Each thread has its own connection (never shared between threads), in WAL mode with a busy timeout,
so concurrent writers — two sweeps and the app — wait for each other instead of failing, and nothing is lost.
A file that is not a QuLab store (another program's database, a corrupt or unrelated file) is refused with one
sentence and never written to: the check reads the file's header bytes before SQLite opens it for writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from qulab.core.registry import InvalidInput
from qulab.store.run import Run

ENV_VAR = "QULAB_STORE"
# SQLite's application id field (header offset 68) marks the file as ours: 'QuLb'.
APPLICATION_ID = int.from_bytes(b"QuLb", "big")
SCHEMA_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_SECONDS = 60.0
_COLUMNS = ("id", "kind", "experiment", "results", "versions", "timings", "created", "error")
_JSON_COLUMNS = ("experiment", "results", "versions", "timings")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    experiment TEXT NOT NULL,
    results TEXT NOT NULL,
    versions TEXT NOT NULL,
    timings TEXT NOT NULL,
    created TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_kind_created ON runs (kind, created);
"""


class StoreError(InvalidInput):
    """The store's file cannot be used (foreign, corrupt, unreadable); the message says which file and why."""


def default_path() -> Path:
    """``$QULAB_STORE``, else ``runs.sqlite3`` in the user's data directory (``$XDG_DATA_HOME/qulab`` or
    ``~/.local/share/qulab``)."""
    given = os.environ.get(ENV_VAR)
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "qulab" / "runs.sqlite3"


def _check_header(path: Path) -> None:
    """Refuse a file that is not an (empty or QuLab) SQLite database, from its first 100 bytes only."""
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return
    except OSError as error:
        raise StoreError(f"The run store {path} cannot be read ({error.strerror}).") from None
    if not header:
        return  # an empty file: SQLite makes a new database in it
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreError(f"The run store {path} is not a SQLite database (corrupt, or another kind of file); "
                         "QuLab leaves it untouched — give another path with --store or QULAB_STORE.")
    if int.from_bytes(header[68:72], "big") != APPLICATION_ID:
        raise StoreError(f"The run store {path} is another program's SQLite database; QuLab leaves it untouched — "
                         "give another path with --store or QULAB_STORE.")


class RunStore:
    """Runs by id in one SQLite file: :meth:`put`, :meth:`get`, :meth:`has`, :meth:`list`, :meth:`delete`."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        try:
            is_dir = self.path.is_dir()
        except OSError as error:  # a name too long for the file system, a loop of links
            raise StoreError(f"The run store's path cannot be used ({error.strerror}); give another with --store or "
                             "QULAB_STORE.") from None
        if is_dir:
            raise StoreError(f"The run store {self.path} is a directory; give a file path.")
        _check_header(self.path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"The run store's folder {self.path.parent} cannot be made ({error.strerror}).") from None
        try:
            self._initialise()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (opened on first use, in autocommit mode); SQLite's own errors become one
        StoreError sentence. A connection per thread, kept open: closing the last connection of a WAL database
        checkpoints and removes its log, which would cost every call milliseconds."""
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            try:
                connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                             check_same_thread=True)
                # WAL with NORMAL sync: a commit never corrupts the file; a power cut may lose the last commits.
                connection.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as error:
                raise StoreError(f"The run store {self.path} cannot be opened ({error}).") from None
            self._local.connection, self._local.pid = connection, os.getpid()
        try:
            yield connection
        except sqlite3.DatabaseError as error:
            raise StoreError(f"The run store {self.path} cannot be used ({error}); it is left as it is.") from None

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _initialise(self) -> None:
        """Mark a new file as ours and make the table, under one write lock so two first users do it once; the
        mark goes into the main file before WAL is switched on, so the header check of another process sees it."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                app_id = db.execute("PRAGMA application_id").fetchone()[0]
                tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if app_id != APPLICATION_ID:
                    if tables:
                        raise StoreError(f"The run store {self.path} is another program's SQLite database; QuLab "
                                         "leaves it untouched — give another path with --store or QULAB_STORE.")
                    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                version = db.execute("PRAGMA user_version").fetchone()[0]
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            if version > SCHEMA_VERSION:
                raise StoreError(f"The run store {self.path} was written by a newer QuLab (schema {version}); "
                                 "upgrade QuLab to read it.")
            db.execute("PRAGMA journal_mode = WAL")

    # -----------------------------------------------------------------------------------------------------------

    def put(self, run: Run) -> None:
        """Save a run, replacing a run of the same id (a failed cell computed again, say)."""
        row = [getattr(run, name) for name in _COLUMNS]
        for i, name in enumerate(_COLUMNS):
            if name in _JSON_COLUMNS:
                row[i] = json.dumps(row[i], sort_keys=True)
        with self._connect() as db:
            db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(row))})",
                       row)

    def get(self, run_id: str) -> Run | None:
        with self._connect() as db:
            row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def has(self, run_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def done(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` are stored without an error (what a sweep skips)."""
        ids = list(ids)
        found: set[str] = set()
        with self._connect() as db:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                found.update(row[0] for row in db.execute(
                    f"SELECT id FROM runs WHERE error IS NULL AND id IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    def list(self, kind: str | None = None, *, failed: bool | None = None, limit: int | None = None,
             **fields: Any) -> list[Run]:
        """Runs, newest first; ``kind`` and each ``field=value`` (a top-level experiment key, e.g.
        ``dataset="iris"``) narrow them; ``failed`` keeps only failed (True) or successful (False) runs."""
        where, values = [], []
        if kind is not None:
            where.append("kind = ?")
            values.append(kind)
        if failed is not None:
            where.append("error IS NOT NULL" if failed else "error IS NULL")
        for name, value in fields.items():
            if not name.isidentifier():
                raise InvalidInput(f"A run filter names an experiment field, not {name!r}.")
            where.append(f"json_extract(experiment, '$.{name}') IS ?")
            values.append(json.dumps(value) if isinstance(value, (dict, list)) else value)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as db:
            return [_run(row) for row in db.execute(sql, values)]

    def delete(self, ids: Iterable[str]) -> int:
        """Remove runs by id; returns how many were there."""
        ids = list(ids)
        with self._connect() as db:
            return sum(db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount for run_id in ids)

    def resolve(self, prefix: str) -> str:
        """The one stored id starting with ``prefix`` (as `qulab runs show 3fa2` takes it), or one sentence why not."""
        if not prefix or any(c not in "0123456789abcdef" for c in prefix.lower()):
            raise InvalidInput(f"A run id is hexadecimal, not {prefix!r}.")
        with self._connect() as db:
            found = [row[0] for row in db.execute("SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 2",
                                                  (prefix.lower(), prefix.lower() + "g"))]
        if not found:
            raise InvalidInput(f"No run in {self.path} has an id starting with {prefix!r}.")
        if len(found) > 1:
            raise InvalidInput(f"Several runs have an id starting with {prefix!r}; give more of it.")
        return found[0]

    def __len__(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT count(*) FROM runs").fetchone()[0]


def _run(row: tuple) -> Run:
    values: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
    for name in _JSON_COLUMNS:
        values[name] = json.loads(values[name])
    return Run(**values)
