"""How a client reaches the city server: certificates verified (the city's own CA trusted by ``--ca-file``), and a
token never sent over plain ``http://`` except to this machine, unless the clerk says ``--insecure-http``.

Counties sync across the internet with ID numbers, mobiles and a bearer token on the wire: HTTPS is the rule,
plain HTTP the exception someone chose knowingly (a server on the same machine, a test, an isolated LAN).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from pathlib import Path

import httpx

from sync.errors import SyncError

# Store settings remembered by ``stvs-tui sync`` beside the server URL.
CA_FILE_SETTING = "ca_file"
INSECURE_URL_SETTING = "insecure_http_url"  # the plain-http URL the clerk allowed with --insecure-http


class InsecureTransport(SyncError):
    """A token would go over plain HTTP to another machine."""


class UntrustedCertificate(SyncError):
    """The server's TLS certificate does not verify (unknown CA, wrong host name, expired)."""


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, insecure_http: bool = False) -> None:
    """Refuse a URL a token must not be sent to: not http(s), or plain http to a host other than this machine."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise SyncError(f"服务器地址应以 https:// 开头 (the server URL must be https://HOST[:PORT]): {url}")
    if parsed.scheme == "http" and not insecure_http and not is_loopback(parsed.host):
        raise InsecureTransport(
            f"拒绝通过未加密的 http:// 把令牌发送给 {parsed.host}：请使用 https://，或确知风险时加 --insecure-http "
            f"(refusing to send the token over plain http:// to {parsed.host}, where anyone on the way can read it "
            "and the ID numbers: use https://, or pass --insecure-http if you accept that)")


# One SSL context per CA file per process (keyed by what would make a new one differ): building one reads and
# parses a whole CA bundle, ~40 ms of CPU, and each client (every sync, every city admin client, every doctor run)
# built its own. A context is safe to share between clients and threads once made; httpcore only sets its ALPN
# protocols per connection, always to HTTP/1.1 here.
_CONTEXTS: dict[tuple[str, ...], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def tls_verify(ca_file: str = "") -> ssl.SSLContext:
    """What httpx verifies the server's certificate with: the given CA file, else the usual trusted CAs (certifi's,
    or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, as httpx's own default). Made once and then shared."""
    if ca_file:
        path = Path(ca_file).expanduser()
        try:
            stat = path.stat()
        except OSError as exc:
            raise unreadable_ca(ca_file, exc) from None
        key = ("file", str(path), str(stat.st_mtime_ns), str(stat.st_size))
    else:
        key = ("default", os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            try:
                context = (ssl.create_default_context(cafile=key[1]) if ca_file
                           else httpx.create_ssl_context(verify=True, trust_env=True))
            except (OSError, ssl.SSLError) as exc:
                raise unreadable_ca(ca_file, exc) from None
            _CONTEXTS[key] = context
    return context


def unreadable_ca(ca_file: str, exc: BaseException) -> SyncError:
    return SyncError(f"无法读取 CA 证书 {ca_file} (cannot use the CA file: {exc})")


def certificate_problem(exc: BaseException) -> str | None:
    """The reason when ``exc`` (an httpx error) comes from a certificate that does not verify, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        seen = seen.__cause__ or seen.__context__
    return "certificate verify failed" if "CERTIFICATE_VERIFY_FAILED" in str(exc) else None


def untrusted(url: str, reason: str) -> UntrustedCertificate:
    return UntrustedCertificate(
        f"服务器 {url} 的证书无法验证（{reason}）：若市里使用自己的 CA，请用 --ca-file 指定其证书 "
        f"(the server's certificate does not verify: {reason}; if the city uses its own CA, give it with --ca-file)")
