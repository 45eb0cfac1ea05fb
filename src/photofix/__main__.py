"""`python -m photofix ...`: the same CLI as the `photofix` command."""

from photofix.cli import app

app()
