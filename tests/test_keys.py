"""API keys are shown once, stored hashed, and only the right token authenticates."""

from __future__ import annotations

import json
import threading

import pytest

from photofix.errors import BadRequest
from photofix.keys import KeyStore


def test_key_is_stored_only_as_a_hash(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    key, token = store.create("alice")
    stored = (tmp_path / "keys.json").read_text()
    assert token not in stored
    assert json.loads(stored)[0]["sha256"] == key.sha256
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0


def test_authenticate(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    alice, alice_token = store.create("alice")
    bob, bob_token = store.create("bob")
    assert store.authenticate(alice_token) == alice
    assert store.authenticate(bob_token) == bob
    assert store.authenticate(alice_token[:-1] + "x") is None
    assert store.authenticate("") is None and store.authenticate(None) is None


def test_revoke_takes_effect_for_a_running_reader(tmp_path):
    reader = KeyStore(tmp_path / "keys.json")
    writer = KeyStore(tmp_path / "keys.json")
    _, token = writer.create("temp")
    assert reader.authenticate(token) is not None
    assert [key.name for key in writer.revoke("temp")] == ["temp"]
    assert reader.authenticate(token) is None
    assert writer.revoke("temp") == []


def test_a_name_is_one_key(tmp_path):
    store = KeyStore(tmp_path / "keys.json")
    alice, _ = store.create("  alice ")
    assert alice.name == "alice"
    for taken in ("alice", "alice\t", alice.key_id):
        with pytest.raises(BadRequest, match="is taken by the key 'alice'"):
            store.create(taken)
    for bad in ("", "   ", "a\nb", "x" * 65):
        with pytest.raises(BadRequest, match="printable characters"):
            store.create(bad)
    assert store.list() == [alice]


def test_concurrent_creates_lose_no_key_and_share_no_name(tmp_path):
    """Each create reads, adds and rewrites the store: without the lock, writers that overlap
    drop each other's keys, or both take one name."""
    names = [f"k{n}" for n in range(12)] * 2  # every name asked for twice
    outcomes: list[str] = []

    def create(name: str) -> None:
        try:
            KeyStore(tmp_path / "keys.json").create(name)
            outcomes.append("created")
        except BadRequest:
            outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = sorted(key.name for key in KeyStore(tmp_path / "keys.json").list())
    assert stored == sorted(set(names))
    assert outcomes.count("created") == 12 and outcomes.count("refused") == 12
