"""Where the repository's deploy/ files are, for commands run from a checkout."""

from pathlib import Path


class NotInCheckout(RuntimeError):
    """The command needs a file of the repository (pass it by option instead)."""


def repo_root() -> Path:
    """The checkout this package was installed from (an editable workspace member)."""
    for candidate in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        if (candidate / "deploy" / "local" / "kafka" / "pom.xml").is_file():
            return candidate
    raise NotInCheckout("cannot find deploy/local/kafka/pom.xml: run pss from the repository")
