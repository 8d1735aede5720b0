"""A single-node Apache Kafka 4 broker in KRaft mode, from Apache's jars on Maven Central.

``deploy/local/kafka/pom.xml`` names the broker's artifacts; Maven resolves them once into
a cache keyed by the pom's hash, and the machine's Java runs ``kafka.Kafka``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pss_cli.kafka_plan import KafkaPlan

from pss_dev.local import LauncherError, free_port, repo_root, stop_process_group

CACHE = Path(os.environ.get("PSS_CACHE_DIR", Path.home() / ".cache" / "pss"))

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/kafka.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


# This broker serves one machine's services, tests and bench for minutes or hours. There the
# JVM's second compiler (C2) never stopped compiling Kafka's code: 34 to 51% of the broker's
# CPU through whole bench runs, on a machine with two cores for everything. The first
# compiler alone (C1) compiles in a fraction of that; its code answers requests about a
# third dearer, and the broker still costs 5 to 10 ms less a referral (bench/ISSUE25.md,
# tenth round). A broker in service for months pays C2's compiling once: keep its default.
JVM_OPTIONS = ("-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1")
# replaces JVM_OPTIONS when set (space-separated): to measure the broker another way
JVM_OPTIONS_ENV = "PSS_KAFKA_JVM_OPTIONS"


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise LauncherError(f"'{tool}' is not on PATH. {hint}")
    return path


def java_major_version() -> int:
    java = _require("java", "Kafka needs Java 17 or newer: apt-get install openjdk-17-jre-headless")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=True).stderr
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else 0


def broker_jars() -> Path:
    """Resolve the broker's jars with Maven, once per pom version (cached)."""
    pom = repo_root() / "deploy" / "local" / "kafka" / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    target = CACHE / f"kafka-libs-{digest}"
    if (target / ".complete").exists():
        return target
    mvn = _require("mvn", "Maven resolves Kafka's jars: apt-get install maven")
    if java_major_version() < 17:
        raise LauncherError("Kafka 4 needs Java 17 or newer; `java -version` reports an older one")
    partial = target.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise LauncherError(
            f"Maven could not resolve Kafka's jars:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
        )
    (partial / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


@dataclass
class KafkaBroker:
    workdir: Path
    port: int
    controller_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @classmethod
    def create(cls, workdir: Path, port: int | None = None) -> KafkaBroker:
        return cls(workdir=workdir, port=port or free_port(), controller_port=free_port())

    def _properties(self) -> str:
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.workdir / 'data'}",
                "num.partitions=3",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=6",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                # the controller writes a no-op record to the metadata log this often, to show
                # it is alive (KIP-835); every 500 ms by default, a fifth of this one-node
                # broker's CPU at rest (24 ms a second, 19 at 5 s)
                "metadata.max.idle.interval.ms=5000",
                "",
            ]
        )

    def start(self, timeout: float = 90) -> None:
        jars = broker_jars()
        self.workdir.mkdir(parents=True, exist_ok=True)
        props = self.workdir / "server.properties"
        # the ports can change between runs; the storage (and its cluster id) stays
        props.write_text(self._properties())
        (self.workdir / "log4j2.properties").write_text(LOG4J2)
        java = _require("java", "Kafka needs Java 17 or newer")
        classpath = f"{jars}/*"
        if not (self.workdir / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            fmt = subprocess.run(
                [
                    java,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    # one argument, "=" joined: a base64url id may start with "-", which
                    # the tool's parser would otherwise take for an option (1 run in 64)
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(props),
                ],
                capture_output=True,
                text=True,
            )
            if fmt.returncode != 0:
                raise LauncherError(f"formatting Kafka's storage failed:\n{fmt.stdout}{fmt.stderr}")
        log = open(self.workdir / "stdout.log", "ab")
        self.process = subprocess.Popen(
            [
                java,
                *(os.environ.get(JVM_OPTIONS_ENV, "").split() or JVM_OPTIONS),
                f"-Dkafka.logs.dir={self.workdir}",
                f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(props),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import logging

        # refused connections are expected while the broker boots
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = (self.workdir / "stdout.log").read_text(errors="replace")[-3000:]
                raise LauncherError(f"Kafka exited with {self.process.returncode}:\n{tail}")
            try:
                asyncio.run(_describe_cluster(self.bootstrap_servers))
                return
            except Exception as exc:
                last = exc
                time.sleep(0.5)
        raise LauncherError(f"Kafka did not answer metadata requests within {timeout:.0f}s: {last}")

    def stop(self, timeout: float = 30) -> None:
        stop_process_group(self.process, timeout)


async def _describe_cluster(bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    await admin.start()
    try:
        await admin.describe_cluster()
    finally:
        await admin.close()


async def ensure_topics(bootstrap: str, plan: KafkaPlan) -> None:
    """Create the topics of ``deploy/kafka/topics.yaml`` that are missing, with their
    partitions and configuration, and as many replicas as the cluster has brokers."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        brokers = len((await admin.describe_cluster())["brokers"])
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=min(spec.replication_factor, brokers),
                topic_configs=spec.config_for(brokers),
            )
            for spec in plan.topics.values()
            if spec.name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()
