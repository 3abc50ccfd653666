"""Where a county device keeps its sync token: the OS keyring where there is one (``keyring``: Secret Service,
macOS Keychain, Windows Credential Locker), else the store's ``setting`` table as before (a 0600 file).

"No keyring" is keyring's fail or null backend, or a backend that keyring itself does not recommend (priority
below 1, such as keyrings.alt's plaintext file) unless the user chose it (``PYTHON_KEYRING_BACKEND`` or
keyring's config file). A keyring that fails when asked is treated as absent: the sync goes on with the store.
"""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.core
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import KeyringError

from schema.store import Store

SERVICE = "stvs-tui"
TOKEN_SETTING = "token"
_FAILURES = (KeyringError, OSError, RuntimeError)


def os_keyring() -> KeyringBackend | None:
    """The keyring to keep tokens in, or None where there is none worth the name."""
    try:
        chosen = keyring.core.load_env() or keyring.core.load_config()
        backend = chosen or keyring.get_keyring()
    except _FAILURES:
        return None
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    return backend if chosen is not None or keyring.core.recommended(backend) else None


def _account(store: Store) -> str:
    """One entry per store (a laptop may keep several with --data-dir)."""
    return f"sync-token:{store.path.resolve() if store.path else store.node_id}"


def _backend_name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def load_token(store: Store) -> str:
    """The saved token ("" if none). A token left in the store is moved into the keyring once there is one."""
    backend = os_keyring()
    in_store = store.setting(TOKEN_SETTING)
    if backend is None:
        return in_store
    try:
        kept = backend.get_password(SERVICE, _account(store))
        if in_store and not kept:
            backend.set_password(SERVICE, _account(store), in_store)
            kept = in_store
    except _FAILURES:
        return in_store
    if in_store:
        store.set_settings(**{TOKEN_SETTING: ""})
    return kept or ""


def save_token(store: Store, token: str) -> str:
    """Keep ``token`` in the keyring if there is one (and out of the store), else in the store; say where."""
    backend = os_keyring()
    if backend is not None:
        try:
            if token:
                backend.set_password(SERVICE, _account(store), token)
            elif backend.get_password(SERVICE, _account(store)):
                backend.delete_password(SERVICE, _account(store))
            store.set_settings(**{TOKEN_SETTING: ""})
            return token_place(store.path)
        except _FAILURES:
            pass
    store.set_settings(**{TOKEN_SETTING: token})
    return token_place(store.path)


def token_place(store_path: Path | None) -> str:
    """Where the token is (or would be) kept, for ``stvs-tui where``."""
    backend = os_keyring()
    if backend is not None:
        return f"OS keyring ({_backend_name(backend)}, service {SERVICE})"
    return f"store ({store_path or 'the local store'}, table setting; no OS keyring here)"
