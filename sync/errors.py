"""One tree of sync errors; each is a reason the ``sync`` command gives in one line and exits 1 for."""

from __future__ import annotations

from schema.errors import StvsError


class SyncError(StvsError):
    """Base of every sync failure."""


class ServerUnreachable(SyncError):
    """No answer from the server (connection refused, DNS, timeout) after the retries."""


class TokenRefused(SyncError):
    """The server does not accept the token (unknown or revoked): HTTP 401."""


class Forbidden(SyncError):
    """The token may not touch these records (another county's): HTTP 403."""


class IncompatibleVersion(SyncError):
    """Client and server speak different protocol or schema versions: HTTP 426."""


class BatchMismatch(SyncError):
    """A batch or change id was sent before with different content: HTTP 409."""


class OutOfOrder(SyncError):
    """A pipelined batch came before the batch it follows was applied (sync.push_order): HTTP 409
    ``out_of_order``, nothing stored; it is sent again once that one is answered."""


class NestedTooDeep(SyncError):
    """A request body nests objects or lists deeper than any wire value needs: HTTP 422, never a crash."""


class ProtocolError(SyncError):
    """The server answered something this client does not understand (or a server error)."""


class DigestMismatch(SyncError):
    """The county's partition differs between server and store even after a targeted re-diff."""
