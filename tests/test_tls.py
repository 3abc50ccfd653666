"""Encrypted in transit: ``stvs-tui serve --tls-cert --tls-key`` with a certificate made here by a CA made here,
a county syncing through it with ``--ca-file`` (remembered), a county without the CA refused, and the token never
sent over plain http:// to another machine."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sync_fixtures import ROOT, add_volunteer, free_port

from schema.store import open_store
from stvs_tui.cli import main
from sync.auth import issue_token
from sync.client import SyncClient
from sync.errors import SyncError
from sync.serverdb import open_server_db
from sync.transport import INSECURE_URL_SETTING, InsecureTransport, check_url, tls_verify

A = "410522"


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_pki(folder: Path) -> Pki:
    """A city's own CA and a server certificate it signed for 127.0.0.1 and localhost."""
    now = datetime.now(UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("安阳市科协 test CA")).issuer_name(_name("安阳市科协 test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                          x509.DNSName("localhost")]), critical=False)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    folder.mkdir(parents=True, exist_ok=True)
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    return pki


def wait_https(url: str, ca: Path, process: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    """Until the server answers /healthz over verified TLS (or its process ended); the timeout guards a hang."""
    context = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", verify=context, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"the TLS server at {url} did not come up (exit {process.poll()})")


@dataclass
class TlsCity:
    url: str
    token: str
    admin_token: str
    pki: Pki


@pytest.fixture
def tls_city(tmp_path) -> Iterator[TlsCity]:
    """The real ``stvs-tui serve --tls-cert --tls-key`` in its own process, on a SQLite database."""
    pki = make_pki(tmp_path / "pki")
    database = f"sqlite:///{tmp_path / 'city' / 'server.sqlite'}"
    db = open_server_db(database)
    token, admin_token = issue_token(db.engine, A), issue_token(db.engine, "410500", admin=True)
    db.close()
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stvs_tui", "--data-dir", str(tmp_path / "city"), "serve", "--port", str(port),
             "--database-url", database, "--tls-cert", str(pki.cert), "--tls-key", str(pki.key)],
            cwd=ROOT, env=dict(os.environ), start_new_session=True, stdout=log, stderr=log)
    url = f"https://127.0.0.1:{port}"
    try:
        wait_https(url, pki.ca, process)
        yield TlsCity(url, token, admin_token, pki)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def county_dir(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    assert CliRunner().invoke(main, ["--data-dir", str(folder), "init", "--county", A]).exit_code == 0
    store = open_store(folder / "stvs.sqlite", daily_backup=False)
    add_volunteer(store)
    store.close()
    return folder


def test_a_county_syncs_through_tls_with_the_citys_own_ca(tls_city, tmp_path) -> None:
    folder = county_dir(tmp_path, "county")
    runner = CliRunner()
    first = runner.invoke(main, ["--data-dir", str(folder), "sync", "--server", tls_city.url, "--token", tls_city.token,
                                 "--ca-file", str(tls_city.pki.ca), "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["applied"] == 1
    # Server, token and CA file are remembered: the next sync needs none of them.
    store = open_store(folder / "stvs.sqlite", daily_backup=False)
    add_volunteer(store)
    store.close()
    again = runner.invoke(main, ["--data-dir", str(folder), "sync", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["applied"] == 1


def test_a_certificate_from_an_unknown_ca_is_refused_with_the_way_out(tls_city, tmp_path) -> None:
    folder = county_dir(tmp_path, "county")
    refused = CliRunner().invoke(main, ["--data-dir", str(folder), "sync", "--server", tls_city.url,
                                        "--token", tls_city.token])
    assert refused.exit_code == 1
    assert "certificate" in refused.output and "--ca-file" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    store = open_store(folder / "stvs.sqlite", daily_backup=False)
    try:
        assert store.pending_change_count() == 1 and store.setting("token") == ""
    finally:
        store.close()


def test_the_token_is_never_sent_over_plain_http_to_another_machine(tmp_path) -> None:
    folder = county_dir(tmp_path, "county")
    # 192.0.2.0/24 is reserved for documentation: nothing answers there, and nothing is tried.
    refused = CliRunner().invoke(main, ["--data-dir", str(folder), "sync", "--server", "http://192.0.2.10:8765",
                                        "--token", "secret-token"])
    assert refused.exit_code == 1
    assert "plain http://" in refused.output and "--insecure-http" in refused.output
    for url in ("http://kx.anyang.example:8765", "http://10.0.0.5"):
        with pytest.raises(InsecureTransport):
            check_url(url)
    with pytest.raises(SyncError, match="https://"):
        check_url("ftp://192.0.2.10")
    for url in ("https://192.0.2.10:8765", "http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"):
        check_url(url)
    # --insecure-http, once given for a URL, is remembered for that URL only (the TUI's sync uses it too).
    store = open_store(folder / "stvs.sqlite", daily_backup=False)
    try:
        store.set_settings(**{INSECURE_URL_SETTING: "http://192.0.2.10:8765"})
        SyncClient(store, "http://192.0.2.10:8765", "secret-token").close()
        with pytest.raises(InsecureTransport):
            SyncClient(store, "http://192.0.2.11:8765", "secret-token")
    finally:
        store.close()


def test_serve_wants_both_the_certificate_and_its_key(tmp_path) -> None:
    pki = make_pki(tmp_path / "pki")
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "city"), "serve", "--tls-cert", str(pki.cert)])
    assert result.exit_code == 2 and "--tls-key" in result.output


def test_the_city_admin_commands_use_tls_and_refuse_plain_http_too(tls_city, tmp_path) -> None:
    runner = CliRunner()
    cli = ["--data-dir", str(tmp_path / "admin")]
    listed = runner.invoke(main, [*cli, "conflicts", "list", "--server", tls_city.url, "--token", tls_city.admin_token,
                                  "--ca-file", str(tls_city.pki.ca), "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["total"] == 0
    assert runner.invoke(main, [*cli, "conflicts", "list", "--json"]).exit_code == 0  # CA file remembered
    untrusted = runner.invoke(main, ["--data-dir", str(tmp_path / "other"), "conflicts", "list", "--server",
                                     tls_city.url, "--token", tls_city.admin_token])
    assert untrusted.exit_code == 1 and "--ca-file" in untrusted.output
    plain = runner.invoke(main, [*cli, "city", "--server", "http://192.0.2.10:8765", "--token", "admin-secret"])
    assert plain.exit_code == 1 and "plain http://" in plain.output and "--insecure-http" in plain.output


def test_tls_contexts_are_made_once_per_ca_file_and_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    """Every client shares one SSL context per CA file (each had read and parsed a whole CA bundle, ~40 ms); the
    default one trusts the usual CAs as httpx's own does; a CA file replaced on disk gives a new context; a missing
    one is a SyncError naming it."""
    default = tls_verify()
    assert tls_verify() is default and tls_verify("") is default
    assert default.verify_mode == ssl.CERT_REQUIRED and default.check_hostname
    assert default.cert_store_stats()["x509_ca"] > 0  # the trusted CAs are loaded (certifi's, as httpx's default)
    first = make_pki(tmp_path / "one")
    own = tls_verify(str(first.ca))
    assert own is not default and tls_verify(str(first.ca)) is own
    assert own.verify_mode == ssl.CERT_REQUIRED and own.cert_store_stats()["x509_ca"] == 1
    replaced = make_pki(tmp_path / "two")
    os.replace(replaced.ca, first.ca)
    stat = first.ca.stat()
    os.utime(first.ca, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later file, however fast
    renewed = tls_verify(str(first.ca))
    assert renewed is not own and renewed.cert_store_stats()["x509_ca"] == 1
    with pytest.raises(SyncError, match="missing.pem"):
        tls_verify(str(tmp_path / "missing.pem"))
