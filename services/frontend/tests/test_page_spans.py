"""The front-end's pages are traced by their route, and a worker's private link is not
traced at all: the key to their case is in its address."""

from __future__ import annotations

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from frontend.bootstrap import build
from frontend.settings import FrontendSettings
from pss_testkit.spans import kept_spans


def test_a_page_is_traced_by_its_route_and_a_workers_private_link_not_at_all():
    exported = kept_spans()
    with TestClient(build(FrontendSettings(session_key=Fernet.generate_key().decode()))) as client:
        opened = client.get("/my-case/k/the-workers-own-key", follow_redirects=False)
        assert opened.status_code == 303
        assert exported.get_finished_spans() == ()
        client.get("/my-case", follow_redirects=False)  # intake is not there: a 503 page, traced
    names = [span.name for span in exported.get_finished_spans()]
    assert names == ["GET /my-case"], names
    exported.shutdown()
