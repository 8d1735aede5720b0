"""A trace store with its UI (Zipkin) and a metrics store (Prometheus) for `make run` and the
tests, so an operator sees a referral's trace and the platform's metrics on a laptop.

Why Zipkin and not Jaeger: Jaeger's server builds with Go from the module proxy, but its UI
is not published to any registry these machines reach (not npm, not the Go proxy: the
module builds with a placeholder page). Zipkin's server, with its UI, is one jar on Maven
Central, fetched by Maven as Kafka's jars are. The services export spans to it with
OpenTelemetry's own Zipkin exporter, beside OTLP.

Prometheus is Debian's package. It scrapes each service's `/metrics` under the job name the
production collector gives it (``pss/<service>``), and loads the production alert rules
(deploy/observability/prometheus/alerts.yaml) unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from pss_dev.local import LauncherError, free_port, repo_root, stop_process_group
from pss_dev.local.kafka import CACHE, java_major_version

ZIPKIN_VERSION = "3.6.1"
# local scrapes are frequent so a test (or a person trying it) sees a page counted in seconds
SCRAPE_SECONDS = 2


def zipkin_jar() -> Path:
    """Zipkin's server (with its UI), resolved once by Maven from Maven Central."""
    target = CACHE / f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"
    if target.exists():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LauncherError("'mvn' is not on PATH. Maven fetches Zipkin's server: apt-get install maven")
    partial = CACHE / "zipkin.partial"
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "dependency:copy",
            f"-Dartifact=io.zipkin:zipkin-server:{ZIPKIN_VERSION}:jar:exec",
            f"-DoutputDirectory={partial}",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise LauncherError(f"Maven could not fetch Zipkin's server:\n{result.stdout[-3000:]}")
    CACHE.mkdir(parents=True, exist_ok=True)
    (partial / target.name).rename(target)
    shutil.rmtree(partial, ignore_errors=True)
    return target


def prometheus_config(targets: dict[str, str], alerts: Path) -> dict[str, object]:
    """One job per service, named as the production collector names it, so the production
    alert rules (which select ``job=~"pss/..."``) read the same series."""
    return {
        "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
        "rule_files": [str(alerts)],
        "scrape_configs": [
            {"job_name": f"pss/{name}", "static_configs": [{"targets": [address]}]}
            for name, address in sorted(targets.items())
        ],
    }


@dataclass
class Observability:
    workdir: Path
    zipkin_port: int
    prometheus_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def create(
        cls, workdir: Path, *, zipkin_port: int | None = None, prometheus_port: int | None = None
    ) -> Observability:
        return cls(workdir, zipkin_port or free_port(), prometheus_port or free_port())

    @property
    def zipkin_url(self) -> str:
        return f"http://127.0.0.1:{self.zipkin_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    def service_env(self) -> dict[str, str]:
        """What each service needs to export to these stores (see servicekit.telemetry)."""
        return {
            "OTEL_EXPORTER_ZIPKIN_ENDPOINT": f"{self.zipkin_url}/api/v2/spans",
            "OTEL_METRICS_EXPORTER": "prometheus",
        }

    def start_zipkin(self) -> None:
        if java_major_version() < 17:
            raise LauncherError("Zipkin's server needs Java 17 or newer")
        jar = zipkin_jar()
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "zipkin.log", "ab")
        self.processes["zipkin"] = subprocess.Popen(
            # the quick compiler and a bounded heap: it keeps the newest MEM_MAX_SPANS in memory
            # (a whole test session exports more; 384 MB ran out of heap under it)
            ["java", "-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", str(jar)],
            env={
                **os.environ,
                "QUERY_PORT": str(self.zipkin_port),
                "STORAGE_TYPE": "mem",
                "MEM_MAX_SPANS": "150000",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_prometheus(self, targets: dict[str, str]) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise LauncherError(
                "'prometheus' is not on PATH: apt-get install prometheus (or make observability)"
            )
        alerts = repo_root() / "deploy" / "observability" / "prometheus" / "alerts.yaml"
        config = self.workdir / "prometheus.yml"
        self.workdir.mkdir(parents=True, exist_ok=True)
        config.write_text(yaml.safe_dump(prometheus_config(targets, alerts), sort_keys=False))
        log = open(self.workdir / "prometheus.log", "ab")
        self.processes["prometheus"] = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
                "--storage.tsdb.retention.time=2d",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        probes = {"zipkin": f"{self.zipkin_url}/health", "prometheus": f"{self.prometheus_url}/-/ready"}
        deadline = time.monotonic() + timeout
        for name, process in self.processes.items():
            while True:
                if process.poll() is not None:
                    raise LauncherError(f"{name} exited; see {self.workdir / (name + '.log')}")
                try:
                    if httpx.get(probes[name], timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise LauncherError(f"{name} was not ready in {timeout:.0f}s; see {self.workdir}")
                time.sleep(0.3)

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process_group(process, timeout=15)
