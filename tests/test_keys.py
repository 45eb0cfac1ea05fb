"""API keys are shown once, stored hashed, and only the right token authenticates."""

from __future__ import annotations

import json

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
    assert writer.revoke("temp") == 1
    assert reader.authenticate(token) is None
