"""The fault drills kill and restart Kafka and PostgreSQL, so they run on infrastructure and
services of their own, never on the session's shared platform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pss_dev.local.mailbox import Mailbox
from pss_dev.platform import Infrastructure
from pss_testkit.testing import RunningPlatform, TelemetryCollector, launch_platform


@pytest.fixture(scope="module")
def drill_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    yield from _drill_platform(tmp_path_factory, replicas=1)


@pytest.fixture(scope="module")
def replica_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """Two replicas of every service, as an authority runs them."""
    yield from _drill_platform(tmp_path_factory, replicas=2)


def _drill_platform(tmp_path_factory: pytest.TempPathFactory, *, replicas: int) -> Iterator[RunningPlatform]:
    workdir = Path(tmp_path_factory.mktemp("drill"))
    infrastructure = Infrastructure.start(workdir / "infra")
    if infrastructure.kafka is None or infrastructure.postgres is None:
        infrastructure.stop()
        pytest.fail(
            "the drills restart the broker and the database server, so they start their own:"
            " unset KAFKA_BOOTSTRAP_SERVERS and PSS_ADMIN_DATABASE_URL"
        )
    telemetry = TelemetryCollector()
    mailbox = Mailbox().start()
    try:
        running = launch_platform(infrastructure, telemetry, mailbox, workdir, replicas=replicas)
        try:
            yield running
        finally:
            running.platform.stop()
            print(f"\ndrill service logs: {workdir / 'logs'}")
    finally:
        mailbox.stop()
        telemetry.close()
        infrastructure.stop()
