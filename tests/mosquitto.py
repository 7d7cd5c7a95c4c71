"""A real mosquitto broker for tests: plain and TLS listeners on free loopback ports, a password file.

Use the ``mosquitto`` fixture (one broker per test session) or, for tests that stop and restart
the broker, ``private_mosquitto`` (one per test). Import ``Mosquitto`` directly elsewhere:

    from tests.mosquitto import Mosquitto
    with Mosquitto(tmp_path) as broker:
        ... broker.port, broker.tls_port, broker.ca_file, broker.username/password ...

To use the fixtures in another test folder, import them in its conftest.py:

    from tests.mosquitto import mosquitto, private_mosquitto  # noqa: F401

Listeners: ``port`` (plain, anonymous), ``tls_port`` (TLS, user name and password required) and
``mtls_port`` (TLS, client certificate required; ``client`` holds one signed by the test CA).
``wrong_ca_file`` is a CA that did not sign the broker's certificate.
Persistence is on (``autosave_interval 1``: the in-memory database is saved about every two
seconds, and on a clean stop), so QoS 1 sessions survive ``stop()``/``start()``, and ``kill()``
(SIGKILL) once ``saves()`` has counted a save after what must survive.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class CertSet:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_ca(folder: Path, name: str) -> tuple[CertSet, object, object]:
    """A self-signed CA; returns files (cert only) plus its key and certificate objects."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / f"{name}.crt"
    ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertSet(ca_file, ca_file, ca_file), key, cert


def issue_cert(folder: Path, name: str, ca_key: object, ca_cert: object, ca_file: Path, server: bool) -> CertSet:
    """A leaf certificate signed by the CA: for 127.0.0.1/localhost (server) or a client."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)  # type: ignore[attr-defined]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[attr-defined]
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return CertSet(ca_file, cert_file, key_file)


class Mosquitto:
    """One broker process with its own folder, config, certificates and password file."""

    username = "box"
    password = "s3cret-pass"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls_port = free_port()
        self.mtls_port = free_port()
        certs = self.folder / "certs"
        ca, ca_key, ca_cert = make_ca(certs, "test-ca")
        self.ca_file = ca.ca_file
        self.server = issue_cert(certs, "broker", ca_key, ca_cert, ca.ca_file, server=True)
        self.client = issue_cert(certs, "client", ca_key, ca_cert, ca.ca_file, server=False)
        self.wrong_ca_file = make_ca(certs / "other", "wrong-ca")[0].ca_file
        self.passwd_file = self.folder / "passwd"
        subprocess.run(
            [MOSQUITTO_PASSWD, "-b", "-c", str(self.passwd_file), self.username, self.password],
            check=True,
            capture_output=True,
        )
        self.passwd_file.chmod(0o600)
        self.log_file = self.folder / "mosquitto.log"
        self.conf_file = self.folder / "mosquitto.conf"
        self.conf_file.write_text(self._config())
        self._proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        s = self.server
        user = pwd.getpwuid(os.getuid()).pw_name  # as root, mosquitto would otherwise switch to 'mosquitto'
        return f"""# generated for one test run
user {user}
per_listener_settings true
persistence true
persistence_location {self.folder}/
autosave_interval 1
log_dest file {self.log_file}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
max_queued_messages 100000
max_inflight_messages 0

listener {self.port} {HOST}
allow_anonymous true

listener {self.tls_port} {HOST}
cafile {s.ca_file}
certfile {s.cert_file}
keyfile {s.key_file}
allow_anonymous false
password_file {self.passwd_file}

listener {self.mtls_port} {HOST}
cafile {s.ca_file}
certfile {s.cert_file}
keyfile {s.key_file}
require_certificate true
use_identity_as_username true
"""

    @property
    def url(self) -> str:
        return f"mqtt://{HOST}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        assert self._proc is None, "broker already running"
        self._proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf_file)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        for port in (self.port, self.tls_port, self.mtls_port):
            while not _accepts(port):
                if self._proc.poll() is not None:
                    err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                    raise RuntimeError(f"mosquitto exited ({self._proc.returncode}): {err}\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen on {HOST}:{port}\n{self.log_tail()}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Graceful stop (SIGTERM): mosquitto saves its persistence file."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL: what the broker acknowledged after its last save is gone (``saves()`` tells when it saved)."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait(5)
        self._proc = None

    def saves(self) -> int:
        """How many times the broker has written its persistence file (autosaves and clean stops)."""
        if not self.log_file.exists():
            return 0
        return self.log_file.read_text(errors="replace").count("Saving in-memory database")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


def _require_mosquitto() -> None:
    if not os.path.exists(MOSQUITTO):
        message = "mosquitto is not installed (scripts/setup-test-env.sh installs it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One broker for the whole test session; do not stop it in a test (use ``private_mosquitto``)."""
    _require_mosquitto()
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of this test's own, free to stop and restart."""
    _require_mosquitto()
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
