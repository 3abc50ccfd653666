"""A county store's identity as a sync node, and how a copied or restored store finds itself out.

Two stores must never sync as one node: the server takes a node's changes for one history, and a pull
leaves out what the node itself pushed, so each copy would miss the other's edits. As cr-sqlite makes a
new site id for a copied database, a store that finds it is a copy continues as a new node:

- **file identity**: the store file's device and inode are recorded with the node; another file (a copy,
  a restored backup file, a move to another disk) no longer matches;
- **epoch**: each sync that has something to push moves the store and the server together to a new random
  epoch (the store proposes it, the server takes it at ``hello`` only if it still knows the store's current
  one); a store that comes back with an epoch the server has moved past is an older copy of that node: a
  backup copied back over the store, or a copy whose twin synced first.

A new node keeps every row, sync base and pending change; change ids are content (``sync.push.content_key``),
so a change the old node had sent already is answered ``duplicate``. It pulls from the start once, since the
old node's pulls left out what that node pushed, which includes its twin's edits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import sqlalchemy as sa

from schema.identity import renew_node_identity
from schema.models import new_id
from schema.store import Store
from sync.auth import Caller
from sync.push import NODE, check_node, touch_node
from sync.serverdb import ServerDB

FILE_KEY = "store_file"  # settings: device and inode of the store file the node id belongs to
EPOCH_KEY, NEXT_EPOCH_KEY = "store_epoch", "next_epoch"
HISTORY_KEY = "node_history"  # settings: the node ids this store had before, oldest first (JSON list)


def file_identity(path: Path) -> str:
    """Device and inode (the file index on Windows): unchanged by edits and renames, new for a copy."""
    info = os.stat(path)
    return f"{info.st_dev}:{info.st_ino}"


def check_file_identity(store: Store) -> str:
    """Make the store a new node if its file is not the one its node id was made in; returns the old node id
    if it did, else "". Recorded on the first check."""
    if store.path is None:
        return ""
    current = file_identity(store.path)
    recorded = store.setting(FILE_KEY)
    if not recorded:
        store.node_id  # noqa: B018 - made now if this store never had one, so it belongs to this file
        store.set_settings(**{FILE_KEY: current})
        return ""
    if recorded == current:
        return ""
    return start_new_node(store)


def start_new_node(store: Store) -> str:
    """Continue as a new node: a new node id (the old one joins the history), no epoch yet, the pull from the
    start again. Returns the old node id."""
    old = store.node_id
    history = [*former_nodes(store), old]
    # A new id with a new key pair: the new node must not sign bundles as the one it was copied from. (A
    # device that never syncs online enrols its new key with the city: ``stvs-tui bundle enrol``.)
    renew_node_identity(store)
    with store.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM sync_checkpoint WHERE key LIKE 'pull_since:%'"))
    store.set_settings(**{HISTORY_KEY: json.dumps(history), EPOCH_KEY: "", NEXT_EPOCH_KEY: "",
                          FILE_KEY: file_identity(store.path) if store.path else ""})
    return old


def former_nodes(store: Store) -> list[str]:
    raw = store.setting(HISTORY_KEY)
    return list(json.loads(raw)) if raw else []


def is_this_store(store: Store, node: str) -> bool:
    """Whether ``node`` is this store's node id, now or before it became a new node (its return bundles)."""
    return node == store.node_id or node in former_nodes(store)


# ---- the epoch, county side -------------------------------------------------------------------------------


def hello_epochs(store: Store, pushing: bool) -> tuple[str, str]:
    """(current epoch, proposed next epoch or "") for ``hello``. The proposal is kept before it is sent: if
    the server takes it and the answer is lost, the next hello offers it again and is recognised."""
    current = store.setting(EPOCH_KEY)
    if not pushing:
        return current, ""
    proposed = store.setting(NEXT_EPOCH_KEY)
    if not proposed:
        proposed = new_id()
        store.set_settings(**{NEXT_EPOCH_KEY: proposed})
    return current, proposed


def epoch_taken(store: Store, proposed: str) -> None:
    """The server moved to ``proposed``: it is this store's epoch now."""
    if proposed:
        store.set_settings(**{EPOCH_KEY: proposed, NEXT_EPOCH_KEY: ""})


# ---- the epoch, server side -------------------------------------------------------------------------------


def continues_history(db: ServerDB, caller: Caller, node: str, current: str, proposed: str) -> bool:
    """Whether a store calling as ``node`` with epoch ``current`` is the history the server knows for that
    node; if so, and it proposes a next epoch, the server moves to it (compare and set: of two copies
    arriving at once, one wins)."""
    with db.read() as connection:
        check_node(connection, node, caller)
        row = connection.execute(sa.select(NODE.c.store_epoch).where(NODE.c.node_id == node)).first()
    if row is not None and row.store_epoch not in ("", current, proposed):
        return False
    if row is not None and (not proposed or row.store_epoch == proposed):
        return True
    if row is None and not (current or proposed):
        return True
    return bool(db.run_write(lambda c: _move_epoch(c, caller, node, row.store_epoch if row else None,
                                                   proposed or current)))


def _move_epoch(connection: sa.Connection, caller: Caller, node: str, known: str | None, epoch: str) -> bool:
    if known is None:
        touch_node(connection, node, caller)
        known = ""
    moved = connection.execute(sa.update(NODE).where(NODE.c.node_id == node, NODE.c.store_epoch == known)
                               .values(store_epoch=epoch)).rowcount
    return bool(moved)
