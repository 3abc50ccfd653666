"""The county's sync token at rest: in the OS keyring where there is one, else in the store, and ``stvs-tui where``
says which. The keyring here is a real backend (keyrings.alt's file keyring, in the test's own folder), chosen
the way a user chooses one (``PYTHON_KEYRING_BACKEND``); the real sync server takes the token back out of it."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from keyrings.alt.file import PlaintextKeyring
from sync_fixtures import add_volunteer

from schema.store import open_store
from stvs_tui.cli import main
from sync.credentials import SERVICE, load_token, os_keyring

A = "410522"
FILE_KEYRING = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture
def file_keyring(monkeypatch, tmp_path) -> Path:
    """A real keyring backend kept under the test's folder (XDG_DATA_HOME), chosen by the environment."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    return tmp_path / "xdg"


def county(tmp_path: Path) -> Path:
    folder = tmp_path / "county"
    assert CliRunner().invoke(main, ["--data-dir", str(folder), "init", "--county", A]).exit_code == 0
    store = open_store(folder / "stvs.sqlite", daily_backup=False)
    add_volunteer(store)
    store.close()
    return folder


def where(folder: Path) -> str:
    result = CliRunner().invoke(main, ["--data-dir", str(folder), "where", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["token"]


def stored_token(folder: Path) -> str:
    store = open_store(folder / "stvs.sqlite", daily_backup=False)
    try:
        return store.setting("token")
    finally:
        store.close()


def test_the_token_is_kept_in_the_keyring_where_there_is_one(file_keyring, city, tmp_path) -> None:
    folder = county(tmp_path)
    token = city.token(A)
    runner = CliRunner()
    first = runner.invoke(main, ["--data-dir", str(folder), "sync", "--server", city.url, "--token", token])
    assert first.exit_code == 0, first.output
    assert stored_token(folder) == ""  # not in the store
    account = f"sync-token:{(folder / 'stvs.sqlite').resolve()}"
    assert PlaintextKeyring().get_password(SERVICE, account) == token  # read back from the keyring's own file
    assert next(file_keyring.rglob("*.cfg")).is_file()
    assert where(folder).startswith("OS keyring") and FILE_KEYRING in where(folder)
    again = runner.invoke(main, ["--data-dir", str(folder), "sync", "--json"])  # the token comes from the keyring
    assert again.exit_code == 0, again.output


def test_without_a_keyring_the_token_stays_in_the_store(city, tmp_path) -> None:
    folder = county(tmp_path)
    token = city.token(A)
    result = CliRunner().invoke(main, ["--data-dir", str(folder), "sync", "--server", city.url, "--token", token])
    assert result.exit_code == 0, result.output
    assert stored_token(folder) == token
    assert where(folder).startswith("store") and str(folder / "stvs.sqlite") in where(folder)


def test_a_token_left_in_the_store_moves_into_a_keyring_that_appears(monkeypatch, city, tmp_path) -> None:
    folder = county(tmp_path)
    token = city.token(A)
    assert CliRunner().invoke(main, ["--data-dir", str(folder), "sync", "--server", city.url,
                                     "--token", token]).exit_code == 0
    assert stored_token(folder) == token
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FILE_KEYRING)
    store = open_store(folder / "stvs.sqlite", daily_backup=False)
    try:
        assert load_token(store) == token
        assert store.setting("token") == ""
        assert os_keyring().get_password(SERVICE, f"sync-token:{store.path.resolve()}") == token
    finally:
        store.close()


def test_a_keyring_that_keyring_does_not_recommend_is_no_keyring(monkeypatch, tmp_path) -> None:
    """keyrings.alt's plaintext file, found by keyring itself rather than chosen, is not an OS keyring."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no keyringrc.cfg choosing one
    previous = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        assert os_keyring() is None
    finally:
        keyring.set_keyring(previous)
