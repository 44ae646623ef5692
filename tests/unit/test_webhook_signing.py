"""Webhook signatures and destinations: Standard Webhooks cross-checked with the maintained
``standardwebhooks`` package, the robots' signing recomputed independently here, and the
allow-list's refusals."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ledger.webhooks.destination import DestinationRefusedError, check_destination, check_url
from ledger.webhooks.dispatcher import backoff
from ledger.webhooks.settings import WebhookSettings
from ledger.webhooks.signing import (
    dingtalk_sign,
    feishu_sign,
    generate_secret,
    sign,
    standard_headers,
)

BODY = b'{"type":"DepartureStarted","timestamp":"2026-11-01T08:00:00.000000Z","data":{}}'


def test_generated_secrets_are_whsec_and_32_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_signature_matches_the_standardwebhooks_package_byte_for_byte() -> None:
    secret = generate_secret()
    now = dt.datetime.now(dt.UTC)
    ours = sign("5b0f7f4c-1d1e-5a55-9a0e-3f1e6f2b9c11", int(now.timestamp()), BODY, secret)
    theirs = Webhook(secret).sign("5b0f7f4c-1d1e-5a55-9a0e-3f1e6f2b9c11", now, BODY)
    assert ours == theirs


def test_the_package_verifies_our_headers_with_either_secret_during_rotation() -> None:
    old, new = generate_secret(), generate_secret()
    headers = standard_headers("msg-1", int(dt.datetime.now(dt.UTC).timestamp()), BODY,
                               [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers)["type"] == "DepartureStarted"
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(generate_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(new).verify(BODY + b" ", headers)


def test_dingtalk_signs_timestamp_newline_secret_keyed_with_the_secret() -> None:
    # DingTalk's 加签: HmacSHA256(key=secret, "timestamp\nsecret"), base64.
    expected = base64.b64encode(hmac.new(b"SECabc", b"1700000000000\nSECabc",
                                         hashlib.sha256).digest()).decode()
    assert dingtalk_sign(1700000000000, "SECabc") == expected


def test_feishu_signs_empty_content_keyed_with_timestamp_newline_secret() -> None:
    # Feishu's 签名校验: HmacSHA256(key="timestamp\nsecret", empty message), base64.
    expected = base64.b64encode(hmac.new(b"1700000000\nabc", b"",
                                         hashlib.sha256).digest()).decode()
    assert feishu_sign(1700000000, "abc") == expected


ALLOW = WebhookSettings(allow=("hooks.example.com", "*.dingtalk.com", "127.0.0.1"))


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/",
    "http://[::ffff:10.0.0.1]/", "ftp://hooks.example.com/", "http://user:pw@hooks.example.com/",
    "http://evil.example.com/", "http://dingtalk.com.evil.net/", "http://127.0.0.2/",
    "not a url", "http:///nohost"])
def test_the_allow_list_refuses(url: str) -> None:
    with pytest.raises(DestinationRefusedError):
        check_url(url, ALLOW)


@pytest.mark.parametrize("url", [
    "https://hooks.example.com/x", "https://oapi.dingtalk.com/robot/send?access_token=t",
    "http://127.0.0.1:9000/hook"])
def test_the_allow_list_lets_through(url: str) -> None:
    check_url(url, ALLOW)


def test_nothing_is_allowed_by_default() -> None:
    with pytest.raises(DestinationRefusedError, match="LEDGER_WEBHOOK_ALLOW"):
        check_url("https://hooks.example.com/x", WebhookSettings())


async def test_an_allowed_name_that_resolves_to_loopback_is_refused() -> None:
    with pytest.raises(DestinationRefusedError, match="loopback"):
        await check_destination("http://localhost:9/", WebhookSettings(allow=("localhost",)))


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    settings = WebhookSettings(retry_base_seconds=5, retry_max_seconds=3600)
    assert [backoff(n, settings, 0.999999) for n in (1, 2, 3)] == pytest.approx([5, 10, 20])
    assert [backoff(n, settings, 0.0) for n in (1, 2, 3)] == [2.5, 5, 10]
    assert backoff(30, settings, 0.999999) == pytest.approx(3600)
    assert backoff(1, settings, 0.0, retry_after=120) == 120
