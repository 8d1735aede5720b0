"""Local infrastructure: Apache Kafka (KRaft, Apache's own jars) and PostgreSQL (embedded)."""

import subprocess

from pss_cli.paths import repo_root

__all__ = ["LauncherError", "free_port", "repo_root", "stop_process_group"]


class LauncherError(RuntimeError):
    """Something the person running the launcher must fix; the message says what."""


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
