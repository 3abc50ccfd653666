"""Node identity: a store's node id and Ed25519 key pair, registered with the city at the first online sync
(tied to the token's county), checked at every later one, revoked with a lost device; the city's key learned
by the county. Real stores, the real server over HTTP, the real CLI."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sync_fixtures import add_volunteer, sync

from schema.identity import NODE_KEY_SETTING, renew_node_identity, signature_valid
from schema.store import open_store
from stvs_tui.cli import main
from sync.errors import Forbidden, TokenRefused
from sync.keys import node_keys, trusted_city_key

A, B = "410522", "410523"


def test_a_new_store_becomes_a_node_with_a_key_when_given_its_county(tmp_path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["--data-dir", str(tmp_path), "init", "--county", A]).exit_code == 0
    store = open_store(tmp_path / "stvs.sqlite", daily_backup=False)
    try:
        assert store.setting("node_id") and store.setting(NODE_KEY_SETTING)
        assert store.identity.signer == store.node_id
    finally:
        store.close()


def test_a_store_from_before_node_keys_keeps_its_node_id_and_gets_a_key_at_open(store) -> None:
    with store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM setting WHERE key IN ('node_id', 'node_key', 'node_public_key')"))
        connection.execute(sa.text("INSERT INTO setting (key, value) VALUES ('node_id', 'old-node-0001')"))
    store.close()
    reopened = open_store(store.path, daily_backup=False)
    try:
        assert reopened.setting(NODE_KEY_SETTING)
        assert reopened.node_id == "old-node-0001"
    finally:
        reopened.close()


def test_a_key_kept_without_its_public_half_gets_the_matching_one(store) -> None:
    made = store.identity
    with store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM setting WHERE key = 'node_public_key'"))
    again = store.identity
    assert (again.signer, again.public_key) == (made.signer, made.public_key)
    assert signature_valid(again.public_key, again.sign(b"bundle"), b"bundle")


def test_renewing_the_identity_makes_a_new_node_with_a_new_key(store) -> None:
    before = store.identity
    renewed = renew_node_identity(store)
    assert renewed.signer != before.signer and renewed.public_key != before.public_key
    assert (store.node_id, store.identity.public_key) == (renewed.signer, renewed.public_key)


def test_the_first_sync_registers_the_key_for_the_tokens_county_and_learns_the_citys(city, stores) -> None:
    county = stores.make(A)
    add_volunteer(county)
    sync(county, city, city.token(A))
    [registered] = node_keys(city.db)
    assert (registered.node_id, registered.county_code, registered.public_key, registered.source) == (
        county.node_id, A, county.identity.public_key, "sync")
    assert trusted_city_key(county) == city.db.city_key.public_key
    sync(county, city, city.token(A))  # the same key again: nothing to register
    assert len(node_keys(city.db)) == 1


def test_a_node_id_presenting_another_key_is_refused(city, stores) -> None:
    county = stores.make(A)
    sync(county, city, city.token(A))
    # A copy of the store that kept the node id but not the key (or an impostor naming that node).
    copy = stores.make(A)
    copy.set_settings(node_id=county.node_id)
    with pytest.raises(Forbidden, match="another key"):
        sync(copy, city, city.token(A))
    # A node registered for A cannot be taken over by B's token either.
    with pytest.raises(Forbidden, match=A):
        sync(county, city, city.token(B))
    # Made a node of its own, the copy syncs.
    renew_node_identity(copy)
    sync(copy, city, city.token(A))
    assert len(node_keys(city.db, A)) == 2


def test_revoking_a_lost_device_refuses_its_token_and_key(city, stores, tmp_path) -> None:
    county = stores.make(A)
    token = city.token(A)
    sync(county, city, token)
    url = city.db.store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    revoked = runner.invoke(main, ["--data-dir", str(tmp_path / "citycli"), "node", "revoke", county.node_id,
                                   "--reason", "笔记本丢失", "--database-url", url])
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(TokenRefused):
        sync(county, city, token)
    listed = runner.invoke(main, ["--data-dir", str(tmp_path / "citycli"), "node", "list", "--database-url", url])
    assert "revoked" in listed.stdout and "笔记本丢失" in listed.stdout
    # The device's key stays revoked even with a new token for the county.
    with pytest.raises(Forbidden, match="revoked"):
        sync(county, city, city.token(A))


def test_token_list_and_revoke_on_the_command_line(city, stores, tmp_path) -> None:
    county = stores.make(A)
    sync(county, city, city.token(A))
    url = city.db.store.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    cli = ["--data-dir", str(tmp_path / "citycli")]
    added = runner.invoke(main, [*cli, "token", "add", "--county", A, "--database-url", url])
    assert added.exit_code == 0 and f"bundle trust-city {city.db.city_key.public_key}" in added.stderr
    listed = runner.invoke(main, [*cli, "token", "list", "--county", A, "--json", "--database-url", url])
    assert listed.exit_code == 0, listed.output
    tokens = json.loads(listed.stdout)
    assert len(tokens) == 2 and all("hash" not in name for row in tokens for name in row)
    with city.db.read() as connection:
        used = connection.execute(sa.text("SELECT token_id FROM node_key")).scalar_one()
    done = runner.invoke(main, [*cli, "token", "revoke", used, "--database-url", url])
    assert done.exit_code == 0 and county.node_id in done.stdout
    assert node_keys(city.db)[0].revoked_at is not None
    missing = runner.invoke(main, [*cli, "token", "revoke", "no-such-token", "--database-url", url])
    assert missing.exit_code == 1 and "no token" in missing.output

