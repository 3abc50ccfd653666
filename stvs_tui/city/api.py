"""The city admin's HTTP client for ``/api/v1/admin``: what the ``conflicts`` commands and the city TUI call.

Failures become the sync error tree with a one-line reason (unreachable server, refused token, a
refused decision), so the CLI can print them and exit 1.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from schema.reporting import CityReports
from sync.admin_protocol import (
    ADMIN_PREFIX,
    BulkResponse,
    DetectResponse,
    LockResponse,
    QueueItem,
    QueuePage,
    SummaryPage,
    UploadPage,
    UploadReport,
)
from sync.errors import Forbidden, ProtocolError, ServerUnreachable, SyncError, TokenRefused
from sync.protocol import ConflictOut
from sync.transport import certificate_problem, check_url, tls_verify, untrusted


class DecisionRefused(SyncError):
    """The server refused a decision (no reason, a bad typed value, an item already resolved)."""


class CityAdminClient:
    """Calls the admin endpoints of a city server with an admin token."""

    def __init__(self, server_url: str, token: str, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, ca_file: str = "", insecure_http: bool = False) -> None:
        """Certificates verified (``ca_file``: the city's own CA); the admin token never goes over plain http://
        to another machine unless ``insecure_http`` (see sync.transport)."""
        self.server_url = server_url.rstrip("/")
        check_url(self.server_url, insecure_http=insecure_http)
        self.http = httpx.Client(base_url=self.server_url, timeout=timeout, transport=transport,
                                 verify=tls_verify(ca_file),
                                 headers={"Authorization": f"Bearer {token}", "User-Agent": "stvs-tui-city"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CityAdminClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, f"{ADMIN_PREFIX}{path}", **kwargs)
        except httpx.TransportError as exc:
            problem = certificate_problem(exc)
            if problem:
                raise untrusted(self.server_url, problem) from None
            raise ServerUnreachable(f"无法连接服务器 {self.server_url} (server unreachable: {type(exc).__name__})") from None
        if response.status_code == 401:
            raise TokenRefused("服务器不接受该令牌 (the server refuses this token)")
        if response.status_code == 403:
            raise Forbidden("需要市级管理员令牌 (an admin token is needed: stvs-tui token add --county 410500 --admin)")
        if response.status_code in (404, 409, 422):
            raise DecisionRefused(_detail(response))
        if response.status_code >= 400:
            raise ProtocolError(f"服务器出错 (server error): HTTP {response.status_code} {_detail(response)}")
        return response.json()

    # ---- the queue ----------------------------------------------------------------------------------------

    def detect(self) -> int:
        return DetectResponse.model_validate(self._call("POST", "/queue/detect")).opened

    def queue(self, *, county: str | None = None, table: str | None = None, kind: str | None = None,
              status: str | None = "open", limit: int = 100, offset: int = 0, search: str | None = None,
              resolved_from: date | None = None, resolved_to: date | None = None,
              decision: str | None = None) -> QueuePage:
        """A page of the queue; ``status="resolved"`` is the audit trail (latest decision first), ``decision``
        the side taken (``sync.admin_protocol.DECISIONS``)."""
        params = {k: v for k, v in {"county": county, "table": table, "kind": kind, "status": status,
                                    "decision": decision,
                                    "limit": limit, "offset": offset, "search": search or None,
                                    "resolved_from": resolved_from and resolved_from.isoformat(),
                                    "resolved_to": resolved_to and resolved_to.isoformat()}.items()
                  if v is not None}
        return QueuePage.model_validate(self._call("GET", "/queue", params=params))

    def all_items(self, **filters: Any) -> list[QueueItem]:
        """Every item that matches (page after page), e.g. for the conflict log."""
        items: list[QueueItem] = []
        while True:
            page = self.queue(**filters, limit=1000, offset=len(items))
            items.extend(page.items)
            if not page.items or len(items) >= page.total:
                return items

    def summary(self, today: date | None = None, months: int = 6) -> SummaryPage:
        params: dict[str, Any] = {"months": months} | ({"today": today.isoformat()} if today else {})
        return SummaryPage.model_validate(self._call("GET", "/summary", params=params))

    def item(self, conflict_id: str) -> QueueItem:
        return QueueItem.model_validate(self._call("GET", f"/queue/{conflict_id}"))

    def decide(self, conflict_id: str, decisions: dict[str, dict[str, Any]], reason: str) -> ConflictOut:
        body = {"decisions": decisions, "reason": reason}
        return ConflictOut.model_validate(self._call("POST", f"/queue/{conflict_id}/decide", json=body))

    def duplicate(self, conflict_id: str, action: str, reason: str, *, survivor: str = "city",
                  decisions: dict[str, dict[str, Any]] | None = None) -> ConflictOut:
        body = {"action": action, "survivor": survivor, "decisions": decisions or {}, "reason": reason}
        return ConflictOut.model_validate(self._call("POST", f"/queue/{conflict_id}/duplicate", json=body))

    def bulk(self, ids: list[str], take: str, reason: str) -> dict[str, str]:
        body = {"ids": ids, "take": take, "reason": reason}
        return BulkResponse.model_validate(self._call("POST", "/queue/bulk", json=body)).outcome

    # ---- uploads, reports, periods ------------------------------------------------------------------------

    def uploads(self, *, county: str | None = None, limit: int = 100, offset: int = 0) -> UploadPage:
        params: dict[str, Any] = {"limit": limit, "offset": offset} | ({"county": county} if county else {})
        return UploadPage.model_validate(self._call("GET", "/uploads", params=params))

    def upload_report(self, batch_id: str) -> UploadReport:
        return UploadReport.model_validate(self._call("GET", f"/uploads/{batch_id}"))

    def reports(self, first: str, last: str, today: date | None = None) -> CityReports:
        params = {"first": first, "last": last} | ({"today": today.isoformat()} if today else {})
        return CityReports.from_dict(self._call("GET", "/reports", params=params))

    def lock(self, county_code: str, period: str, open_until: date, reason: str) -> LockResponse:
        body = {"county_code": county_code, "period": period, "open_until": open_until.isoformat(), "reason": reason}
        return LockResponse.model_validate(self._call("POST", "/periods/lock", json=body))


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # pydantic's list of problems: the first one says enough on one line
        first = detail[0] if detail else {}
        return f"{'.'.join(str(p) for p in first.get('loc', []))}: {first.get('msg', '')}"
    return str(detail)
