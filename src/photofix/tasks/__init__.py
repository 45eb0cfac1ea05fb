"""The task runtime: a task record, where it is kept (TaskStore), who runs it (Runner)."""
