"""The ``pss`` command line: what an authority's operators run (directory and training
imports, the Kafka plan). With the pss-dev package installed (a developer's checkout), it
also has `pss dev`, `pss infra` and `pss token` (pss_dev.commands)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pss_cli.imports import ImportReport

app = typer.Typer(
    help="Peer support platform: operations (and local development, with pss-dev).", no_args_is_help=True
)

directory = typer.Typer(help="The authority's directory and roster, kept by matching.")
app.add_typer(directory, name="directory")


@directory.command("import")
def directory_import(
    kind: Annotated[str, typer.Argument(help="people | evaluators | supporters")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row")],
    matching_url: Annotated[str, typer.Option(help="matching's address")] = "http://127.0.0.1:8102",
    token: Annotated[
        str | None, typer.Option(envvar="PSS_TOKEN", help="An authority admin's bearer token")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=2000)] = 1000,
    report: Annotated[Path | None, typer.Option(help="Write every rejected row here (CSV)")] = None,
) -> None:
    """Import people (staff_ref, site_id, profession, grade or seniority, years_experience,
    licence_level, languages, reports_to, unit, gender), evaluators (evaluator_ref,
    evaluatee_ref, kind) or supporters (staff_ref, serves, mental_health_professional,
    paused, dual_relationships). Good rows are stored; rejected rows are reported by line."""
    from pss_cli.imports import import_directory

    _run_import(
        file,
        f"{kind}",
        lambda token, progress: import_directory(
            file, kind, matching_url=matching_url, token=token, batch_size=batch_size, progress=progress
        ),
        token=token,
        report=report,
    )


@directory.command("import-fhir")
def directory_import_fhir(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A FHIR R4 Bundle, JSON")],
    matching_url: Annotated[str, typer.Option(help="matching's address")] = "http://127.0.0.1:8102",
    token: Annotated[
        str | None, typer.Option(envvar="PSS_TOKEN", help="An authority admin's bearer token")
    ] = None,
    declare_sites: Annotated[
        bool, typer.Option(help="Declare the bundle's sites (with their region) before the people")
    ] = False,
    staff_system: Annotated[
        str | None, typer.Option(help="The identifier system of staff references (urn:pss:fhir:staff-ref)")
    ] = None,
    site_system: Annotated[
        str | None, typer.Option(help="The identifier system of site ids (urn:pss:fhir:site)")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write every rejected entry here (CSV)")] = None,
) -> None:
    """Import people from a FHIR R4 Bundle of Practitioner, PractitionerRole, Organization and
    Location (an HR or provider directory's export): each entry is validated on its own, and
    entries refused are reported by number, as rows of a CSV import are (README, "FHIR")."""
    import json

    from pss_cli.imports import import_fhir

    try:
        entries = len(json.loads(file.read_text(encoding="utf-8-sig")).get("entry") or [])
    except (ValueError, AttributeError) as exc:
        raise typer.BadParameter(f"{file} is not a FHIR Bundle in JSON ({exc})") from None
    _run_import(
        file,
        "FHIR entries",
        lambda token, progress: import_fhir(
            file,
            matching_url=matching_url,
            token=token,
            declare_sites=declare_sites,
            staff_system=staff_system,
            site_system=site_system,
            progress=progress,
        ),
        token=token,
        report=report,
        total=entries,
        unit="entry",
        units="entries",
    )


training = typer.Typer(help="Training records, kept by training.")
app.add_typer(training, name="training")


@training.command("import")
def training_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row")],
    training_url: Annotated[str, typer.Option(help="training's address")] = "http://127.0.0.1:8104",
    token: Annotated[
        str | None, typer.Option(envvar="PSS_TOKEN", help="An authority admin's bearer token")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=2000)] = 1000,
    report: Annotated[Path | None, typer.Option(help="Write every rejected row here (CSV)")] = None,
) -> None:
    """Import completed training (staff_ref, course, and completed_on as YYYY-MM-DD or
    completed_at with its offset). Expiries, reminders and eligibility follow as for a
    completion entered by hand; a row already recorded is not recorded twice."""
    from pss_cli.imports import import_completions

    _run_import(
        file,
        "completions",
        lambda token, progress: import_completions(
            file, training_url=training_url, token=token, batch_size=batch_size, progress=progress
        ),
        token=token,
        report=report,
    )


def _run_import(
    file: Path,
    what: str,
    send: Callable[[str, Callable[[int], None]], ImportReport],
    *,
    token: str | None,
    report: Path | None,
    total: int | None = None,
    unit: str = "line",
    units: str = "rows",
) -> None:
    """Progress, a summary, the first rejected rows (or FHIR entries), the full report on
    request, and an exit code scripts can check (2: some were rejected)."""
    from pss_cli.imports import count_rows

    if token is None:
        token = _local_admin_token()
    total = count_rows(file) if total is None else total
    with typer.progressbar(length=total, label=f"importing {total} {what}") as bar:
        result = send(token, bar.update)
    again = f", {result.already_recorded} already recorded" if result.already_recorded else ""
    typer.echo(
        f"{result.imported} imported, {len(result.rejected)} rejected{again}, of {result.rows} {units}"
    )
    for line, problem in result.rejected[:20]:
        typer.echo(f"  {unit} {line}: {problem}")
    if len(result.rejected) > 20:
        typer.echo(f"  ... and {len(result.rejected) - 20} more" + (f" (all in {report})" if report else ""))
    if report:
        with report.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([unit, "problem"])
            writer.writerows(result.rejected)
    if result.rejected:
        raise typer.Exit(2)


@app.command("kafka-plan")
def kafka_plan(
    bootstrap: Annotated[str, typer.Option(help="The authority's brokers")] = "kafka-1:9093",
    command_config: Annotated[
        str, typer.Option(help="The admin client's properties file")
    ] = "admin.properties",
    file: Annotated[Path | None, typer.Option(help="Default: deploy/kafka/topics.yaml")] = None,
    brokers: Annotated[int, typer.Option(help="Brokers in the cluster: fewer than 3 caps the replicas")] = 3,
    topics_only: Annotated[bool, typer.Option(help="No ACLs (a cluster without an authorizer)")] = False,
) -> None:
    """Print the kafka-topics.sh and kafka-acls.sh commands that set up an authority's cluster."""
    from pss_cli.kafka_plan import PlanError, load_plan

    try:
        plan = load_plan(file)
    except (PlanError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    for line in plan.commands(bootstrap, command_config, brokers=brokers, acls=not topics_only):
        typer.echo(line)


def _local_admin_token() -> str:
    """Without --token: `make run`'s local admin, when the development environment is here."""
    try:
        from pss_dev.commands import local_admin_token
    except ImportError:
        raise typer.BadParameter("give an authority admin's token with --token or PSS_TOKEN") from None
    return local_admin_token()


try:
    from pss_dev.commands import register
except ImportError:  # an operator's install: no local development environment
    pass
else:
    register(app)
