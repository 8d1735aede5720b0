"""One image per service, built from the workspace root.

Without a Docker engine the build itself cannot run, so each Dockerfile is read and its
build replayed: the files it copies, then its `uv sync`, into a scratch folder. The
installed service must start its command line and carry what it needs at run time."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import DEPLOY, ROOT, SERVICES, WITH_DATABASE


def instructions(service: str) -> list[tuple[str, str]]:
    text = (DEPLOY / "docker" / f"{service}.Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_runs_its_own_service_unprivileged_with_a_health_check(service):
    steps = instructions(service)
    final = final_stage(steps)
    keywords = dict(final)
    assert json.loads(keywords["ENTRYPOINT"]) == [f"pss-{service}"]
    assert json.loads(keywords["CMD"]) == ["serve"]
    assert keywords["USER"] not in ("root", "0")
    assert keywords["EXPOSE"] == "8080"
    assert "HTTP_PORT=8080" in keywords["ENV"] and "HTTP_HOST=0.0.0.0" in keywords["ENV"]
    assert "/health/live" in keywords["HEALTHCHECK"] and "8080" in keywords["HEALTHCHECK"]
    syncs = [rest for k, rest in steps if k == "RUN" and "uv sync" in rest]
    assert syncs == [f"uv sync --frozen --no-dev --package {service} --no-editable"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_copies_only_what_the_service_is_built_from(service):
    sources = [
        shlex.split(rest)[:-1] for k, rest in instructions(service) if k == "COPY" and "--from" not in rest
    ]
    copied = {s for group in sources for s in group}
    for source in copied:
        assert (ROOT / source).exists(), f"{service}.Dockerfile copies {source}, which does not exist"
    assert f"services/{service}" in copied
    # never the development tools: pss-cli holds the development sign-in provider
    assert not any(s.startswith("libs/pss-cli") for s in copied)
    assert not any(s.startswith("services/") and s != f"services/{service}" for s in copied)


@pytest.mark.parametrize("service", SERVICES)
def test_the_build_replayed_installs_a_service_that_starts_and_carries_its_files(service, tmp_path):
    """The Dockerfile's COPY steps and its `uv sync`, replayed in a scratch folder."""
    steps = instructions(service)
    workdir = tmp_path / "src"
    workdir.mkdir()
    for keyword, rest in steps:
        if keyword == "COPY" and "--from" not in rest:
            *sources, target = shlex.split(rest)
            for source in sources:
                origin = ROOT / source
                destination = workdir / (Path(source).name if target.endswith("/") else target)
                if origin.is_dir():
                    shutil.copytree(
                        origin, destination, ignore=shutil.ignore_patterns(".venv", "__pycache__", "tests")
                    )
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(origin, destination)
    venv = tmp_path / "app"
    sync = next(rest for k, rest in steps if k == "RUN" and "uv sync" in rest)
    # uv from PATH, else the one `make setup` installs with pip (as the Makefile does)
    uv = [shutil.which("uv")] if shutil.which("uv") else [shutil.which("python3") or "python3", "-m", "uv"]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "copy", "VIRTUAL_ENV": ""}
    result = subprocess.run(
        [*uv, *shlex.split(sync)[1:]], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]

    shutil.rmtree(workdir)  # the image's last stage has /app only
    command = venv / "bin" / f"pss-{service}"
    result = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "serve" in result.stdout, result.stderr[-2000:]

    probe = (
        f"import importlib.util, pathlib, {service}\n"
        f"package = pathlib.Path({service}.__file__).parent\n"
        "print(importlib.util.find_spec('pss_cli') is None)\n"
        "print((package / 'migrations' / 'versions').is_dir())\n"
        "print((package / 'templates').is_dir())\n"
    )
    no_dev_tools, migrations, templates = subprocess.run(
        [venv / "bin" / "python", "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert no_dev_tools == "True"
    assert migrations == str(service in WITH_DATABASE)
    if service == "frontend":
        assert templates == "True"
