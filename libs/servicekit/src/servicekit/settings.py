"""Settings every service shares; a service subclasses to add its own."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# a consumer nobody waits for within seconds (metrics, training) has its broker hold each
# fetch until this much is there, or this long: a quiet platform's events then reach it in
# one batch, not in a wake and a transaction each
UNHURRIED_FETCH_MIN_BYTES = 64 * 1024
UNHURRIED_FETCH_MAX_WAIT_MS = 2000

# how long a service keeps an idle HTTP connection open (uvicorn's default, made explicit):
# a client that pools connections to it must let them go sooner (the front-end does)
KEEP_ALIVE_SECONDS = 5


class ServiceSettings(BaseSettings):
    """Read from the environment (and a .env file). Each service process gets its own env."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default="postgresql+asyncpg://localhost/pss",
        description="The service's own role and database; its schema is the service name.",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    # auth: a JWKS URL in production, a PEM public key for local use and tests
    auth_jwks_url: str | None = None
    auth_public_key_pem: str | None = None
    auth_issuer: str = "pss-dev"
    auth_audience: str = "pss"

    # consumers: attempts before a message that keeps failing goes to its dead-letter topic
    dead_letter_after_attempts: int = Field(default=3, ge=1)
    retry_backoff_seconds: float = Field(default=0.2, ge=0)
    # events taken from Kafka at once and processed in one transaction and one offset commit
    # (a failing one falls back to one at a time, so a poison message still goes alone to
    # its dead-letter topic); 1: one transaction per event. A burst costs half the CPU in
    # batches (bench/ISSUE25.md, first lever); every path locks an episode before its pages,
    # so the longer transactions meet no lock-order deadlock (and a lost race is retried)
    consume_batch_max: int = Field(default=100, ge=1, le=1000)
    # how long the broker holds a consumer's fetch when nothing is there. Longer costs less
    # at rest, but aiokafka sends a partition's next fetch only when the fetch in flight
    # returns (it left out the partition whose records were still buffered), so a run of
    # events on one partition can wait this long between polls: 2 s made e2e's seeding lag
    # behind the test that followed it. aiokafka's default
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=10, le=10_000)
    # the broker answers a consumer's fetch once this much is there (or the wait is out): 1,
    # at once (a service nobody waits for: UNHURRIED_FETCH_MIN_BYTES)
    kafka_fetch_min_bytes: int = Field(default=1, ge=1, le=16 * 1024 * 1024)
    # a statement this slow gets a span of its own in the trace; every statement is counted
    # on its step's span (db.statements, db.milliseconds)
    sql_span_slow_ms: float = Field(default=50, ge=0)
    # the outbox relay polls at this interval when nothing nudged it: every commit that
    # emits wakes its replica's relay, so the poll only finds what a replica that died
    # before publishing left (or a wake lost in a failure)
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1)

    # mail to people (offers of support, later pages by e-mail); unset: messages stay queued
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "peer-support@localhost"

    log_level: str = "INFO"
    log_json: bool = True
