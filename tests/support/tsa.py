"""A real RFC 3161 time-stamping authority on loopback for the timestamp tests: a throwaway
CA made here (``cryptography``), a TSA certificate carrying the critical timeStamping extended
key usage, and ``openssl ts -reply`` behind a small aiohttp handler. ``openssl ts -verify`` is
the independent check of the tokens the ledger stored (``openssl_verifies``).

The authority can be told to go down (503 to every request) and to come back, so the tests
can watch the timestamper wait, retry and catch up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TSA_POLICY = "1.3.6.1.4.1.55555.1.1"  # a private-arc policy OID, for the tests only
_DAY = dt.timedelta(days=1)
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


@dataclass(frozen=True)
class Pki:
    """A root CA and a TSA certificate it issued, written as PEM files under ``folder``."""

    folder: Path
    ca_file: Path  # the root certificate (LEDGER_TSA_CA_FILE)
    tsa_cert: Path
    tsa_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(folder: Path, *, label: str = "test", tsa_expired: bool = False,
             critical_eku: bool = True) -> Pki:
    """A fresh CA and TSA certificate. With ``tsa_expired``, the TSA certificate's validity
    ended yesterday (the CA's did not); ``critical_eku`` False marks the EKU non-critical."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(f"{label} root CA"))
          .issuer_name(_name(f"{label} root CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - 30 * _DAY).not_valid_after(now + 365 * _DAY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    not_after = now - _DAY if tsa_expired else now + 90 * _DAY
    tsa = (x509.CertificateBuilder().subject_name(_name(f"{label} TSA"))
           .issuer_name(ca.subject).public_key(tsa_key.public_key())
           .serial_number(x509.random_serial_number())
           .not_valid_before(now - 10 * _DAY).not_valid_after(not_after)
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                        False), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                          critical=critical_eku)
           .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_file, tsa_cert, key_file = folder / "ca.pem", folder / "tsa.pem", folder / "tsa.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    tsa_cert.write_bytes(tsa.public_bytes(pem))
    key_file.write_bytes(tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    os.chmod(key_file, 0o600)
    return Pki(folder, ca_file, tsa_cert, key_file)


def openssl_config(pki: Pki) -> Path:
    """The ``[tsa]`` section ``openssl ts -reply`` reads (RFC 3161 section 2.4.2 fields)."""
    config = pki.folder / "tsa.cnf"
    (pki.folder / "serial").write_text("01\n")
    config.write_text(f"""\
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {pki.folder}
serial = $dir/serial
signer_cert = {pki.tsa_cert}
certs = {pki.tsa_cert}
signer_key = {pki.tsa_key}
signer_digest = sha256
default_policy = {TSA_POLICY}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
    return config


@dataclass
class LocalTsa:
    """``openssl ts -reply`` served at ``url`` (POST application/timestamp-query)."""

    pki: Pki
    down: bool = False  # answer 503 to everything while True
    requests: int = 0  # requests answered with a token
    refused: int = 0  # requests refused while down
    tamper: bool = False  # flip a byte of the signature in every reply
    _runner: web.AppRunner | None = None
    _config: Path | None = None
    url: str = ""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def start(self, port: int = 0) -> LocalTsa:
        """Serve on loopback ``port`` (0: one the system picks)."""
        self._config = openssl_config(self.pki)
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if self.down:
            self.refused += 1
            return web.Response(status=503, text="down for the test")
        if request.content_type != "application/timestamp-query":
            return web.Response(status=415)
        query = await request.read()
        async with self._lock:  # openssl increments the serial file: one at a time
            reply = await self._reply(query)
        self.requests += 1
        if self.tamper:
            reply = reply[:-5] + bytes([reply[-5] ^ 0x01]) + reply[-4:]
        return web.Response(body=reply, content_type="application/timestamp-reply")

    async def _reply(self, query: bytes) -> bytes:
        assert self._config is not None
        query_file = self.pki.folder / "query.tsq"
        query_file.write_bytes(query)
        child = await asyncio.create_subprocess_exec(
            OPENSSL, "ts", "-reply", "-config", str(self._config), "-queryfile",
            str(query_file), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"openssl ts -reply failed: {err.decode()[-500:]}")
        return out


def openssl_verifies(pki: Pki, response: bytes, data: bytes, folder: Path, *,
                     token: bool = False) -> tuple[bool, str]:
    """Whether ``openssl ts -verify`` (an independent implementation) accepts ``response``
    (a DER TimeStampResp; with ``token``, a bare TimeStampToken) over ``data`` against the CA
    file; and what it said."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reply.tsr").write_bytes(response)
    (folder / "data").write_bytes(data)
    done = subprocess.run(
        [OPENSSL, "ts", "-verify", *(["-token_in"] if token else []), "-in",
         str(folder / "reply.tsr"), "-data",
         str(folder / "data"), "-CAfile", str(pki.ca_file), "-untrusted", str(pki.tsa_cert)],
        capture_output=True, text=True, check=False)
    return done.returncode == 0, done.stdout + done.stderr
