"""Webhooks reach only the authority's allowed destinations (no server-side request forgery)."""

import pytest
from oncall.notifiers import WebhookAllowList

GATEWAY = WebhookAllowList(("https://sms.gateway.example/hooks/", "http://127.0.0.1:*"))


@pytest.mark.parametrize(
    "address",
    [
        "https://sms.gateway.example/hooks/abc",
        "https://SMS.gateway.example:443/hooks/",
        "http://127.0.0.1:9000/hook",
        "http://127.0.0.1/hook",
        "https://sms.gateway.example/hooks/@evil.example",  # the '@' is in the path: the gateway's
    ],
)
def test_an_allowed_destination_passes(address):
    assert GATEWAY.allows(address)


@pytest.mark.parametrize(
    "address",
    [
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://10.0.0.8/admin",
        "http://localhost:8101/referrals",  # another name for loopback is not on the list
        "https://sms.gateway.example/other/",  # the right host, another path
        "https://sms.gateway.example:8443/hooks/",  # another port
        "http://sms.gateway.example/hooks/",  # another scheme
        "https://sms.gateway.example.evil.example/hooks/",
        "http://127.0.0.1:80@evil.example/",  # user information sends it elsewhere
        "https://user:pw@sms.gateway.example/hooks/",
        "ftp://sms.gateway.example/hooks/",
        "not a url",
        "http://[::1]:9000/",
    ],
)
def test_anything_else_is_refused(address):
    assert not GATEWAY.allows(address)


def test_an_empty_list_allows_nothing():
    assert not WebhookAllowList().allows("https://sms.gateway.example/hooks/")
