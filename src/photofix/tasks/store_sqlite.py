"""Embedded TaskStore on SQLite in WAL mode: safe for one API process plus its worker processes."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from photofix.tasks.model import UNFINISHED_STATES, State, Task, TaskOptions
from photofix.tasks.store import UPDATABLE_FIELDS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    options TEXT NOT NULL,
    state INTEGER NOT NULL,
    state_detail TEXT,
    progress INTEGER NOT NULL DEFAULT 0,
    source_url TEXT,
    source_blob TEXT,
    result_blob TEXT,
    result_content_type TEXT,
    meta TEXT,
    created_at REAL NOT NULL,
    processed_at REAL,
    completed_at REAL,
    expires_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_expires_at ON tasks (expires_at);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state);
"""

_UNFINISHED = "(" + ",".join(str(int(s)) for s in UNFINISHED_STATES) + ")"
_JSON_FIELDS = ("meta",)
_COLUMNS = (
    "task_id", "owner", "options", "state", "state_detail", "progress", "source_url",
    "source_blob", "created_at", "expires_at",
)  # fmt: skip
_INSERT_COLUMNS = ", ".join(_COLUMNS)
_INSERT_VALUES = ", ".join("?" for _ in _COLUMNS)
# Connections per store (per process): enough for the API's request threads, whose statements
# take well under a millisecond, without one open file and page cache per thread.
MAX_CONNECTIONS = 4


class SqliteTaskStore:
    """Connections come from a small pool shared by the caller's threads: one per request
    thread kept open would cost a page cache and a file descriptor each (41 under load)."""

    def __init__(self, path: Path, *, max_connections: int = MAX_CONNECTIONS) -> None:
        self._path = path
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle: list[sqlite3.Connection] = []
        self._idle_lock = threading.Lock()
        self._closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one statement or transaction; waits while all are in use. Every
        caller finishes its statements before giving the connection back, so a connection is
        never used by two threads at once."""
        self._slots.acquire()
        try:
            with self._idle_lock:
                db = self._idle.pop() if self._idle else None
            if db is None:
                db = self._open()
            try:
                yield db
            finally:
                with self._idle_lock:
                    keep = not self._closed
                    if keep:
                        self._idle.append(db)
                if not keep:
                    db.close()
        finally:
            self._slots.release()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self._path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout=10000")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def create(self, task: Task) -> None:
        with self._connection() as db:
            db.execute(
                f"INSERT INTO tasks ({_INSERT_COLUMNS}) VALUES ({_INSERT_VALUES})",
                _insert_values(task),
            )

    def admit(self, task: Task, max_unfinished: int) -> bool:
        # One statement is one transaction that takes the write lock before it counts, so two
        # admissions cannot both see the last free place.
        with self._connection() as db:
            cursor = db.execute(
                f"INSERT INTO tasks ({_INSERT_COLUMNS}) SELECT {_INSERT_VALUES}"
                f" WHERE (SELECT COUNT(*) FROM tasks WHERE state IN {_UNFINISHED}) < ?",
                (*_insert_values(task), max_unfinished),
            )
            return cursor.rowcount == 1

    def delete(self, task_id: str) -> None:
        with self._connection() as db:
            db.execute("DELETE FROM tasks WHERE task_id = ?", (task_id,))

    def get(self, task_id: str) -> Task | None:
        with self._connection() as db:
            found = db.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return _to_task(found) if found else None

    def update(self, task_id: str, **changes: Any) -> bool:
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        assignments, values = [], []
        for name, value in changes.items():
            if name == "progress":
                assignments.append("progress = MAX(progress, ?)")
            else:
                assignments.append(f"{name} = ?")
            if name in _JSON_FIELDS and value is not None:
                value = json.dumps(value)
            values.append(int(value) if isinstance(value, State) else value)
        with self._connection() as db:
            cursor = db.execute(
                f"UPDATE tasks SET {', '.join(assignments)}"
                f" WHERE task_id = ? AND state IN {_UNFINISHED}",
                (*values, task_id),
            )
            return cursor.rowcount == 1

    def unfinished(self) -> list[Task]:
        with self._connection() as db:
            rows = db.execute(
                f"SELECT * FROM tasks WHERE state IN {_UNFINISHED} ORDER BY created_at"
            ).fetchall()
        return [_to_task(row) for row in rows]

    def count_unfinished(self) -> int:
        with self._connection() as db:
            row = db.execute(f"SELECT COUNT(*) FROM tasks WHERE state IN {_UNFINISHED}").fetchone()
        return int(row[0])

    def pop_expired(self, now: float) -> list[Task]:
        with self._connection() as db:
            rows = db.execute(
                "DELETE FROM tasks WHERE expires_at <= ? RETURNING *", (now,)
            ).fetchall()
        return [_to_task(row) for row in rows]

    def ping(self) -> bool:
        with self._connection() as db:
            return bool(db.execute("SELECT 1").fetchone()[0] == 1)

    def close(self) -> None:
        """Close the idle connections (those in use are closed when given back after this)."""
        with self._idle_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()


def _insert_values(task: Task) -> tuple[Any, ...]:
    return (
        task.task_id,
        task.owner,
        json.dumps(task.options.to_dict()),
        int(task.state),
        task.state_detail,
        task.progress,
        task.source_url,
        task.source_blob,
        task.created_at,
        task.expires_at,
    )


def _to_task(row: sqlite3.Row) -> Task:
    return Task(
        task_id=row["task_id"],
        owner=row["owner"],
        options=TaskOptions.from_dict(json.loads(row["options"])),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        state=State(row["state"]),
        state_detail=row["state_detail"],
        progress=row["progress"],
        source_url=row["source_url"],
        source_blob=row["source_blob"],
        result_blob=row["result_blob"],
        result_content_type=row["result_content_type"],
        meta=json.loads(row["meta"]) if row["meta"] else None,
        processed_at=row["processed_at"],
        completed_at=row["completed_at"],
        attempts=row["attempts"],
    )
