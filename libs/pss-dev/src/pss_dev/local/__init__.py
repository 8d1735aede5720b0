"""Local infrastructure: Apache Kafka (KRaft, Apache's own jars) and PostgreSQL (embedded)."""

import subprocess
from pathlib import Path

from pss_cli.paths import repo_root

__all__ = ["LauncherError", "free_port", "repo_root", "stop_process_group"]


class LauncherError(RuntimeError):
    """Something the person running the launcher must fix; the message says what."""


# every port handed out by this process: nobody listens on one yet when the next is asked
# for, so a random pick could return it twice (CI once gave intake and training the same)
_GIVEN: set[int] = set()


def free_port() -> int:
    """A port nobody listens on, for a service to bind a moment later, and never one this
    process gave before. Taken from below the kernel's ephemeral range: a port from that
    range can be handed to an outgoing connection (a Kafka client's, a database's) in
    between, and the service then fails to bind it."""
    port = _unbound()
    while port in _GIVEN:
        port = _unbound()
    _GIVEN.add(port)
    return port


def _unbound() -> int:
    import random
    import socket

    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    for _ in range(200 if ephemeral_low > 20_001 else 0):
        port = random.randint(20_000, ephemeral_low - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
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
