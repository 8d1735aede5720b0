"""`pss-frontend serve` runs the front-end (it has no schema to migrate)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn
from servicekit.heap import settle_the_heap
from servicekit.telemetry import setup_telemetry, shutdown_telemetry

from frontend.bootstrap import build
from frontend.settings import FrontendSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="frontend", description="The site coordinators' front-end.")
    parser.add_argument("command", choices=["serve"], nargs="?", default="serve")
    parser.parse_args(sys.argv[1:] if argv is None else argv)
    settings = FrontendSettings()
    setup_telemetry("frontend", log_level=settings.log_level, log_json=settings.log_json)
    app = build(settings)
    config = uvicorn.Config(
        app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False
    )
    settle_the_heap()  # as every service does (servicekit.heap)
    try:
        asyncio.run(uvicorn.Server(config).serve())
    finally:
        shutdown_telemetry()


if __name__ == "__main__":
    main()
