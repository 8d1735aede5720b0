"""Local infrastructure: Apache Kafka (KRaft, Apache's own jars) and PostgreSQL (embedded)."""

import subprocess
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


def stop_process_group(process: "subprocess.Popen[bytes] | None", timeout: float = 30) -> None:
    """SIGTERM the child's process group; SIGKILL it if it does not stop in time."""
    import os
    import signal
    import subprocess

    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
