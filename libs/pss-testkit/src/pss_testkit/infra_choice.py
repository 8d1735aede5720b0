"""Where the tests' Kafka broker and PostgreSQL server come from.

- ``local`` (the default here, and what CI takes): the launcher's own, Apache's Kafka jars
  and embedded PostgreSQL, with no container engine.
- ``containers``: testcontainers' Kafka (KRaft) and PostgreSQL modules, for developers whose
  machine has a Docker engine and a registry.

``PSS_TEST_INFRA`` chooses (``local`` or ``containers``). Unset, containers are used when an
engine answers, and the local launcher otherwise, or when the images cannot be had.
KAFKA_BOOTSTRAP_SERVERS and PSS_ADMIN_DATABASE_URL, when set, still win (an existing broker
and server: nothing is started).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pss_dev.platform import Infrastructure

log = logging.getLogger(__name__)

LOCAL, CONTAINERS = "local", "containers"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
POSTGRES_IMAGE = "postgres:16-alpine"


@dataclass(frozen=True)
class Choice:
    path: str  # LOCAL or CONTAINERS
    why: str
    strict: bool  # chosen by name: a failure to start containers is an error, not a fallback


def choose(env: Mapping[str, str], engine_answers: Callable[[], bool]) -> Choice:
    """Pure: which path, and why (the engine probe is only called when it matters)."""
    asked = env.get("PSS_TEST_INFRA", "").strip().lower()
    if asked == LOCAL:
        return Choice(LOCAL, "PSS_TEST_INFRA=local", strict=True)
    if asked == CONTAINERS:
        return Choice(CONTAINERS, "PSS_TEST_INFRA=containers", strict=True)
    if asked:
        raise ValueError(f"PSS_TEST_INFRA must be 'local' or 'containers', not {asked!r}")
    if env.get("KAFKA_BOOTSTRAP_SERVERS") and env.get("PSS_ADMIN_DATABASE_URL"):
        return Choice(LOCAL, "an existing broker and server are named", strict=True)
    if engine_answers():
        return Choice(CONTAINERS, "a Docker engine answers", strict=False)
    return Choice(LOCAL, "no Docker engine answers", strict=False)


def docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        return bool(docker.from_env(timeout=3).ping())
    except Exception:
        return False


@contextmanager
def session_infrastructure(workdir: Path, env: Mapping[str, str]) -> Iterator[Infrastructure]:
    choice = choose(env, docker_engine_answers)
    log.warning("test infrastructure: %s (%s)", choice.path, choice.why)
    if choice.path == CONTAINERS:
        with ExitStack() as stack:
            try:
                infra = _containers(stack)
            except Exception as exc:
                if choice.strict:
                    raise
                log.warning("containers could not start (%s): the local launcher instead", exc)
                stack.close()
            else:
                yield infra
                return
    infra = Infrastructure.start(workdir)
    try:
        yield infra
    finally:
        infra.stop()


def _containers(stack: ExitStack) -> Infrastructure:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    # a throwaway password for a throwaway server, reachable only from this machine
    password = secrets.token_urlsafe(16)
    postgres = stack.enter_context(PostgresContainer(POSTGRES_IMAGE, username="postgres", password=password))
    kafka = stack.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
    admin_url = postgres.get_connection_url(driver=None)
    return Infrastructure.existing(kafka.get_bootstrap_server(), admin_url)
