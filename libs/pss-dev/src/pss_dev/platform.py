"""Runs the five services as processes against given infrastructure.

Used by ``pss dev`` and by the end-to-end tests, so both start the platform the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pss_cli.kafka_plan import load_plan
from pss_cli.provision import SERVICES, migrate_all, provision
from servicekit.auth import DevTokenIssuer, Role

from pss_dev.local import free_port, stop_process_group
from pss_dev.local.kafka import KafkaBroker, ensure_topics
from pss_dev.local.postgres import PostgresServer


@dataclass
class Infrastructure:
    """Kafka and PostgreSQL: started here, or the ones the environment points at."""

    kafka_bootstrap: str
    admin_url: str
    kafka: KafkaBroker | None = None
    postgres: PostgresServer | None = None

    @classmethod
    def start(
        cls, workdir: Path, *, kafka_port: int | None = None, postgres_port: int | None = None
    ) -> Infrastructure:
        kafka = postgres = None
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        admin_url = os.environ.get("PSS_ADMIN_DATABASE_URL")
        try:
            if not admin_url:
                postgres = PostgresServer.create(workdir / "postgres", postgres_port)
                postgres.start()
                admin_url = postgres.admin_url
            if not bootstrap:
                kafka = KafkaBroker.create(workdir / "kafka", kafka_port)
                kafka.start()
                bootstrap = kafka.bootstrap_servers
        except BaseException:
            if postgres:
                postgres.stop()
            raise
        asyncio.run(ensure_topics(bootstrap, load_plan()))
        return cls(bootstrap, admin_url, kafka, postgres)

    @classmethod
    def existing(cls, kafka_bootstrap: str, admin_url: str) -> Infrastructure:
        """A broker and a server started elsewhere (containers, an authority's own): only
        the topics are made sure of; stop() leaves both running."""
        asyncio.run(ensure_topics(kafka_bootstrap, load_plan()))
        return cls(kafka_bootstrap, admin_url)

    def stop(self) -> None:
        if self.kafka:
            self.kafka.stop()
        if self.postgres:
            self.postgres.stop()


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    module: str = ""  # what `python -m` runs; the service's own package by default

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module or self.name, "serve"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}); see {self.log_path}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f}s; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, as when a node dies."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 15) -> None:
        stop_process_group(self.process, timeout)


# the web processes beside the five services: the coordinators' front-end and, for local
# use only, the OpenID Connect provider it signs in with
FRONTEND = "frontend"
IDENTITY = "identity"


@dataclass
class Platform:
    infrastructure: Infrastructure
    issuer: DevTokenIssuer
    accounts_file: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls,
        infrastructure: Infrastructure,
        workdir: Path,
        *,
        database: str,
        issuer: DevTokenIssuer,
        public_key_pem: str,
        personal_data_keys: str,
        ports: dict[str, int] | None = None,
        extra_env: dict[str, dict[str, str]] | None = None,
        telemetry_env: dict[str, str] | None = None,
        replicas: int = 1,
    ) -> Platform:
        """Provision and migrate the database; build (not start) the service processes.
        The issuer's name is the address of the development sign-in provider;
        ``telemetry_env`` (where spans and metrics go) is given to every process. With
        ``replicas`` above 1, each service gets more processes on the same database and
        consumer groups, named ``intake-2`` and so on, as an authority runs them."""
        urls = provision(infrastructure.admin_url, database)
        migrate_all(urls)
        logs = workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        platform = cls(infrastructure, issuer, workdir / "accounts.json")
        chosen = {name: (ports or {}).get(name) or free_port() for name in (*SERVICES, FRONTEND)}
        for name in SERVICES:
            port = chosen[name]
            env = {
                **os.environ,
                "DATABASE_URL": urls[name],
                "KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap,
                "HTTP_PORT": str(port),
                "AUTH_PUBLIC_KEY_PEM": public_key_pem,
                "AUTH_ISSUER": issuer.issuer,
                "AUTH_AUDIENCE": issuer.audience,
                "OTEL_SERVICE_NAME": name,
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            }
            if name == "intake":
                env["PERSONAL_DATA_KEYS"] = personal_data_keys
                env["WORKER_PORTAL_URL"] = f"http://127.0.0.1:{port}/my-case/page"
            if name == "oncall":
                # re-check with matching before paging the next supporter, as a service
                env["MATCHING_URL"] = f"http://127.0.0.1:{chosen['matching']}"
                # where a supporter who took a page from its link finds the case
                env["FRONTEND_URL"] = f"http://127.0.0.1:{chosen[FRONTEND]}"
                env["SERVICE_TOKEN"] = issuer.token("oncall", [Role.SERVICE], ttl_seconds=30 * 24 * 3600)
                # development: the supporters' contact routes sealed with the local key, links
                # signed with a secret derived from it (both survive a restart of `pss dev`);
                # an authority gives each service keys of its own
                env["PERSONAL_DATA_KEYS"] = personal_data_keys
                env["PAGE_LINK_SECRET"] = hashlib.sha256(f"links:{personal_data_keys}".encode()).hexdigest()
                env["RECORD_UNROUTED"] = "true"
                env["DUTY_POLL_SECONDS"] = "2"
                env["COVERAGE_POLL_SECONDS"] = "30"
            env.update(telemetry_env or {})
            env.update((extra_env or {}).get(name, {}))
            platform.services[name] = ServiceProcess(name, port, env, logs / f"{name}.log")
            for n in range(2, replicas + 1):
                other = free_port()
                platform.services[f"{name}-{n}"] = ServiceProcess(
                    f"{name}-{n}",
                    other,
                    {**env, "HTTP_PORT": str(other)},
                    logs / f"{name}-{n}.log",
                    module=name,
                )
        platform._add_web(
            chosen[FRONTEND], logs, {**(telemetry_env or {}), **(extra_env or {}).get(FRONTEND, {})}
        )
        return platform

    def _add_web(self, frontend_port: int, logs: Path, extra: dict[str, str]) -> None:
        from cryptography.fernet import Fernet

        identity_port = urlsplit(self.issuer.issuer).port
        if identity_port is None:
            raise ValueError(
                "the development issuer must be named by its address, e.g. http://127.0.0.1:8109"
            )
        frontend = f"http://127.0.0.1:{frontend_port}"
        secret = secrets.token_urlsafe(24)
        self.services[IDENTITY] = ServiceProcess(
            IDENTITY,
            identity_port,
            {
                **os.environ,
                "HTTP_PORT": str(identity_port),
                "IDENTITY_ISSUER": self.issuer.issuer,
                "IDENTITY_PRIVATE_KEY_PEM": self.issuer.private_key_pem,
                "IDENTITY_ACCOUNTS_FILE": str(self.accounts_file),
                "IDENTITY_CLIENTS": json.dumps(
                    {"pss-frontend": {"secret": secret, "redirect_uris": [f"{frontend}/signin/callback"]}}
                ),
            },
            logs / f"{IDENTITY}.log",
            module="pss_dev.local.identity",
        )
        self.services[FRONTEND] = ServiceProcess(
            FRONTEND,
            frontend_port,
            {
                **os.environ,
                "HTTP_PORT": str(frontend_port),
                "PUBLIC_BASE_URL": frontend,
                "OIDC_ISSUER": self.issuer.issuer,
                "OIDC_CLIENT_ID": "pss-frontend",
                "OIDC_CLIENT_SECRET": secret,
                "SESSION_KEY": Fernet.generate_key().decode(),
                "OTEL_SERVICE_NAME": FRONTEND,
                **{f"{name.upper()}_URL": self.services[name].url for name in SERVICES},
                **extra,
            },
            logs / f"{FRONTEND}.log",
        )

    def start(self) -> None:
        self.accounts_file.touch()
        try:
            for service in self.services.values():
                service.start()
            for service in self.services.values():
                service.wait_ready()
        except BaseException:
            self.stop()  # one that failed leaves none of the others running, holding ports
            raise

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()

    def url(self, service: str) -> str:
        return self.services[service].url

    def scrape_targets(self) -> dict[str, str]:
        """Where a Prometheus server reads each service's metrics."""
        return {name: f"127.0.0.1:{self.services[name].port}" for name in SERVICES}
