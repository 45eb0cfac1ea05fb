"""Embedded TaskStore on SQLite in WAL mode: safe for one API process plus its worker processes."""

from __future__ import annotations

import json
import sqlite3
import threading
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


class SqliteTaskStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # One connection per thread: sqlite3 connections must not cross threads.
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=10.0, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def create(self, task: Task) -> None:
        self._connect().execute(
            "INSERT INTO tasks (task_id, owner, options, state, state_detail, progress,"
            " source_url, source_blob, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
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
            ),
        )

    def get(self, task_id: str) -> Task | None:
        row = self._connect().execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        found = row.fetchone()
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
        cursor = self._connect().execute(
            f"UPDATE tasks SET {', '.join(assignments)}"
            f" WHERE task_id = ? AND state IN {_UNFINISHED}",
            (*values, task_id),
        )
        return cursor.rowcount == 1

    def unfinished(self) -> list[Task]:
        rows = self._connect().execute(
            f"SELECT * FROM tasks WHERE state IN {_UNFINISHED} ORDER BY created_at"
        )
        return [_to_task(row) for row in rows]

    def count_unfinished(self) -> int:
        row = self._connect().execute(f"SELECT COUNT(*) FROM tasks WHERE state IN {_UNFINISHED}")
        return int(row.fetchone()[0])

    def pop_expired(self, now: float) -> list[Task]:
        db = self._connect()
        rows = db.execute("DELETE FROM tasks WHERE expires_at <= ? RETURNING *", (now,)).fetchall()
        return [_to_task(row) for row in rows]

    def ping(self) -> bool:
        return self._connect().execute("SELECT 1").fetchone()[0] == 1

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


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
