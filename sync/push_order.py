"""The order of one device's push batches when it sends the next before the answer to the last (pipelined).

A batch is applied only after the one before it is committed: rows refer to rows of earlier batches (parents'
tables go first), and a batch answered from the store must have been applied on what came before it. A client
waits for a batch's answer before sending the next, unless the server's hello says ``X-Stvs-Pipeline: 1``: then
it sends each batch with its own id (``X-Stvs-Batch``) and the id of the unanswered batch it follows
(``X-Stvs-After``), so the next batch is on its way (sent, received) while this one is applied, and the server
goes from one batch to the next without waiting for the wire: ~8% of a 100k-record initial push's time was the
server waiting between batches (bench/sync_push.py).

Here, on the event loop of one server process: a batch is known as *running* from its headers until its answer
is made; a batch naming one that is running waits for it (without a worker thread) before it goes to the
worker that applies it, which then checks that the batch it follows was committed, for the same device
(``push.push_answer``): else 409 ``out_of_order``, and nothing is stored, so the client sends it again after
the answer to the one before. That is also what happens when the batch before failed, or was taken by another
server process (several uvicorn workers); a client then sends one batch at a time for the rest of the sync.
The headers order batches only; what a batch is and who may send it is the body's and the token's, checked as
ever, and a batch can only be made to wait for a batch sent with the same token.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from contextlib import suppress

from sync.protocol import ID_PATTERN

PIPELINE_HEADER = "X-Stvs-Pipeline"  # in a hello's answer: "1" when this server keeps a pipelined push's order
BATCH_HEADER = "X-Stvs-Batch"  # a push's batch id
AFTER_HEADER = "X-Stvs-After"  # the batch a push follows (sent before it, not yet answered)
# How long a batch waits for the one it follows to be answered (a slow connection's upload of it included); then
# it goes on, and is answered 409 out_of_order unless that one was committed meanwhile.
WAIT_SECONDS = 300.0
_ID = re.compile(ID_PATTERN)
_BATCH_KEY, _AFTER_KEY, _TOKEN_KEY = (BATCH_HEADER.lower().encode(), AFTER_HEADER.lower().encode(), b"authorization")


def _header_id(value: bytes | None) -> str:
    """A batch id from a header, or "" for none or one no batch id could be (ID_PATTERN, 100 characters)."""
    if not value or len(value) > 100:
        return ""
    text = value.decode("latin-1")
    return text if _ID.fullmatch(text) else ""


class PushOrder:
    """The pushes of one server process being received or applied, by token and batch id."""

    def __init__(self) -> None:
        self._running: dict[tuple[bytes, str], asyncio.Event] = {}

    def start(self, headers: list[tuple[bytes, bytes]]) -> PushTurn:
        """A push's turn, from its headers (before its body is read): its batch known as running, and the batch
        it follows; ended as the ``with`` block it opens ends."""
        values = dict(headers)
        # The token, hashed: it only keys this table (the token itself is checked by the endpoint, as ever).
        token = hashlib.sha256(values.get(_TOKEN_KEY, b"")).digest()
        batch, after = _header_id(values.get(_BATCH_KEY)), _header_id(values.get(_AFTER_KEY))
        event = None
        if batch and batch != after and (token, batch) not in self._running:
            event = self._running[(token, batch)] = asyncio.Event()
        return PushTurn(self, token, batch, after, event)

    def batches(self) -> set[str]:
        """The ids of the batches running now."""
        return {batch for _, batch in list(self._running)}  # (a copy: read from another thread in tests)

    def running(self, token: bytes, batch: str) -> asyncio.Event | None:
        return self._running.get((token, batch))

    def end(self, token: bytes, batch: str, event: asyncio.Event) -> None:
        if self._running.get((token, batch)) is event:
            del self._running[(token, batch)]
        event.set()


class PushTurn:
    """One push's place in its device's order (``PushOrder.start``)."""

    def __init__(self, order: PushOrder, token: bytes, batch: str, after: str, event: asyncio.Event | None) -> None:
        self.order, self.token, self.batch, self.after, self.event = order, token, batch, after, event

    async def wait(self) -> str:
        """Wait until the batch this one follows is answered (if it is running); the id of that batch ("": none)."""
        if self.after:
            before = self.order.running(self.token, self.after)
            if before is not None:
                with suppress(TimeoutError):
                    await asyncio.wait_for(before.wait(), WAIT_SECONDS)
        return self.after

    def end(self) -> None:
        """This push is answered (or failed): a batch waiting for it goes on."""
        if self.event is not None:
            self.order.end(self.token, self.batch, self.event)

    def __enter__(self) -> PushTurn:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.end()
