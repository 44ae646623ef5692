"""Signatures of outbound webhooks: Standard Webhooks (symmetric, ``v1``) and the signing of
the DingTalk and Feishu group robots. Pure: the caller supplies the time and the secrets.

Standard Webhooks 1.0.0, "Signature scheme": the signed content is
``{msg_id}.{timestamp}.{payload}`` (timestamp: integer seconds since the epoch, payload: the
body bytes exactly as sent), HMAC-SHA256 keyed with the base64-decoded part of the
``whsec_`` secret, sent as ``v1,<base64 signature>``; ``webhook-signature`` carries several,
space-separated, while a rotated secret is still honoured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
SIGNATURE_VERSION = "v1"


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret encodes (precondition: made by generate_secret)."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def sign(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """One ``v1,<base64>`` signature of ``body`` sent as ``msg_id`` at ``timestamp``
    (precondition: neither ``msg_id`` nor the timestamp contains a full stop)."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_header(msg_id: str, timestamp: int, body: bytes,
                     secrets_in_force: Sequence[str]) -> str:
    """The ``webhook-signature`` value: one signature per secret in force, space-separated
    (the current secret first, then a rotated one within its grace period)."""
    return " ".join(sign(msg_id, timestamp, body, s) for s in secrets_in_force)


def standard_headers(msg_id: str, timestamp: int, body: bytes,
                     secrets_in_force: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(msg_id, timestamp, body, secrets_in_force)}


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """DingTalk custom robot 加签: base64 HMAC-SHA256, keyed with the secret, of
    ``"{timestamp_ms}\\n{secret}"`` (sent URL-encoded as the ``sign`` query parameter beside
    ``timestamp``, in milliseconds)."""
    content = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()


def feishu_sign(timestamp: int, secret: str) -> str:
    """Feishu custom bot 签名校验: base64 HMAC-SHA256 *keyed with* ``"{timestamp}\\n{secret}"``
    over empty content (sent in the body as ``sign`` beside ``timestamp``, in seconds)."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
