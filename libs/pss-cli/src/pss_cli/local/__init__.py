"""Local infrastructure: Apache Kafka (KRaft, Apache's own jars) and PostgreSQL (embedded)."""

from pathlib import Path


class LauncherError(RuntimeError):
    """Something the person running the launcher must fix; the message says what."""


def repo_root() -> Path:
    """The checkout this package was installed from (an editable workspace member)."""
    for candidate in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        if (candidate / "deploy" / "local" / "kafka" / "pom.xml").is_file():
            return candidate
    raise LauncherError("cannot find deploy/local/kafka/pom.xml: run pss from the repository")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
