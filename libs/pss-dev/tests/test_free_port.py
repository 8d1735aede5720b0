"""free_port never hands out a port twice in one process: nobody listens on the first yet
when the second is asked for, so the system alone cannot tell them apart."""

from __future__ import annotations

from pss_dev import local


def test_a_port_already_given_is_never_given_again(monkeypatch):
    unbound = iter([21_000, 21_000, 21_000, 21_001])
    monkeypatch.setattr(local, "_GIVEN", set())
    monkeypatch.setattr(local, "_unbound", lambda: next(unbound))
    assert [local.free_port(), local.free_port()] == [21_000, 21_001]


def test_ports_for_a_whole_platform_are_distinct():
    ports = [local.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
