"""Revisions 0001 to 0004 of oncall, folded into one (see servicekit.migrations.baseline)."""

from pathlib import Path

from servicekit.migrations import baseline

revision, down_revision = "0004", None
upgrade, downgrade = baseline(Path(__file__).with_suffix(".sql"))
