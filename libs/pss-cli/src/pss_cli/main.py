"""The ``pss`` command line."""

from __future__ import annotations

import csv
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from servicekit.auth import DevTokenIssuer, Role

from pss_cli.local import LauncherError, repo_root
from pss_cli.local.identity import Account, add_account
from pss_cli.local.mailbox import Mailbox
from pss_cli.local.observability import Observability
from pss_cli.platform import Infrastructure, Platform
from pss_cli.seed import DEMO_AUTHORITY, seed_authority

if TYPE_CHECKING:
    from pss_cli.imports import ImportReport

app = typer.Typer(help="Peer support platform: local development and operations.", no_args_is_help=True)

DEV_PORTS = {
    "frontend": 8100,
    "intake": 8101,
    "matching": 8102,
    "oncall": 8103,
    "training": 8104,
    "metrics": 8105,
}
# the development sign-in provider: its address is the name of the issuer of every token
DEV_ISSUER = "http://127.0.0.1:8109"
# Zipkin's and Prometheus's own usual ports
ZIPKIN_PORT = 9411
PROMETHEUS_PORT = 9090


def _workdir() -> Path:
    return Path(os.environ.get("PSS_RUN_DIR", repo_root() / ".run"))


def _dev_issuer(workdir: Path) -> tuple[DevTokenIssuer, str]:
    """A development signing key kept in .run/, so tokens survive a restart of pss dev."""
    from cryptography.hazmat.primitives import serialization

    key_file = workdir / "dev-issuer.pem"
    if not key_file.exists():
        issuer, _ = DevTokenIssuer.generate()
        workdir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(issuer.private_key_pem)
        key_file.chmod(0o600)
    private_pem = key_file.read_text()
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return DevTokenIssuer(private_pem, issuer=DEV_ISSUER), public_pem


def _personal_data_key(workdir: Path) -> str:
    from servicekit.vault import PersonalDataVault

    key_file = workdir / "personal-data.key"
    if not key_file.exists():
        key_file.write_text(PersonalDataVault.new_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


@app.command()
def dev(
    seed: Annotated[bool, typer.Option(help="Seed the demo authority")] = True,
    kafka_port: Annotated[int, typer.Option(help="Port of the local Kafka broker")] = 19092,
    postgres_port: Annotated[int, typer.Option(help="Port of the local PostgreSQL")] = 15432,
) -> None:
    """Start Kafka, PostgreSQL and the five services, seed a demo authority, wait for Ctrl-C."""
    workdir = _workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"logs and data: {workdir}")
    try:
        infrastructure = Infrastructure.start(workdir, kafka_port=kafka_port, postgres_port=postgres_port)
    except LauncherError as exc:
        typer.secho(f"cannot start the local infrastructure: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    issuer, public_pem = _dev_issuer(workdir)
    platform = None
    # mail to workers (offers of support) lands in .run/mail/ instead of anyone's inbox
    mailbox = Mailbox(workdir / "mail").start()
    # traces to Zipkin's UI, metrics to Prometheus (with the production alert rules)
    observability = Observability.create(
        workdir / "observability", zipkin_port=ZIPKIN_PORT, prometheus_port=PROMETHEUS_PORT
    )
    try:
        observability.start_zipkin()
        platform = Platform.prepare(
            infrastructure,
            workdir,
            database="pss",
            issuer=issuer,
            public_key_pem=public_pem,
            personal_data_keys=_personal_data_key(workdir),
            ports=DEV_PORTS,
            extra_env={"intake": {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port)}},
            telemetry_env=observability.service_env(),
        )
        observability.start_prometheus(platform.scrape_targets())
        observability.wait_ready()
        platform.start()
        urls = {name: platform.url(name) for name in platform.services}
        admin = issuer.token("demo-admin", [Role.AUTHORITY_ADMIN])
        if seed:
            seed_authority(urls, admin)
        for account in demo_accounts():
            add_account(platform.accounts_file, account)
        _print_welcome(urls, issuer, infrastructure, observability)
        stop = {"now": False}

        def _stop(*_: object) -> None:
            stop["now"] = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stop["now"]:
            time.sleep(0.5)
    finally:
        typer.echo("stopping...")
        if platform:
            platform.stop()
        observability.stop()
        mailbox.stop()
        infrastructure.stop()


def demo_accounts() -> list[Account]:
    """Who can sign in to the front-end in `make run` (the development sign-in has no
    passwords: it is for a laptop, never for an authority)."""
    coordinators = [
        Account(
            f"coordinator@{s.site_id}",
            f"Coordinator of {s.name}",
            [Role.SITE_COORDINATOR.value],
            [s.site_id],
            s.coordinator,
        )
        for s in DEMO_AUTHORITY
    ]
    north = [s.site_id for s in DEMO_AUTHORITY if s.region == "north"]
    # the supporters of every demo site, to answer their pages at /me
    supporters = [
        Account(f"supporter@{p.ref}", f"Supporter {p.ref}", [Role.PEER_SUPPORTER.value], [s.site_id], p.ref)
        for s in DEMO_AUTHORITY
        for p in s.people
        if p.supporter
    ]
    return [
        *coordinators,
        *supporters,
        Account("coordinator@north", "Coordinator of the north region", [Role.SITE_COORDINATOR.value], north),
        Account("admin", "Authority administrator", [Role.AUTHORITY_ADMIN.value], []),
    ]


def _print_welcome(
    urls: dict[str, str], issuer: DevTokenIssuer, infrastructure: Infrastructure, observability: Observability
) -> None:
    site = DEMO_AUTHORITY[0]
    coordinator = issuer.token(
        "demo-coordinator", [Role.SITE_COORDINATOR], [site.site_id], staff_ref=site.coordinator
    )
    typer.echo("\nThe platform is up.")
    typer.echo(f"\nA worker asks for help (no account): {urls['frontend']}/help/{site.site_id}")
    typer.echo(
        f"\nFront-end for site coordinators: {urls['frontend']}\n"
        f"  sign in as coordinator@{site.site_id} (development sign-in, no password; also\n"
        "  coordinator@lakeside, coordinator@st-marys, coordinator@north for two sites)\n"
        f"  a supporter sees the pages waiting for them as supporter@{site.primary}\n"
    )
    for name, url in urls.items():
        if name in ("frontend", "identity"):
            continue
        typer.echo(f"  {name:<9} {url}/docs")
    typer.echo(f"  kafka     {infrastructure.kafka_bootstrap}")
    typer.echo(f"  postgres  {infrastructure.admin_url.rsplit('/', 1)[0]}/pss")
    typer.echo(
        f"\nTraces (one per referral, every service): {observability.zipkin_url}/zipkin/\n"
        f"Metrics and the production alert rules: {observability.prometheus_url}/alerts"
    )
    typer.echo(f"\nDemo sites: {', '.join(s.site_id for s in DEMO_AUTHORITY)}")
    typer.echo(f"Coordinator token for {site.site_id} (pss token --help for others):\n  {coordinator}")
    typer.echo(
        "\nTry a self-referral:\n"
        f"  curl -s -X POST {urls['intake']}/referrals -H 'content-type: application/json' -d "
        '\'{"site_id":"north-general","reason":{"category":"critical_incident",'
        '"kind":"unexpected_patient_death"},"urgency":"within_hours",'
        '"worker":{"staff_ref":"st-ngrn1","name":"Sam","phone":"+1 555 0100"}}\'\n'
        f"  then, as the coordinator: GET {urls['oncall']}/referrals/<referral_id>/pages\n"
        f"Mail to workers (offers of support) is kept in {_workdir() / 'mail'}\n"
        "\nCtrl-C stops everything."
    )


@app.command()
def token(
    role: Annotated[Role, typer.Option(help="Role in the token")] = Role.SITE_COORDINATOR,
    site: Annotated[list[str] | None, typer.Option(help="Site the user acts for (repeat)")] = None,
    staff_ref: Annotated[str | None, typer.Option(help="Directory reference of the user")] = None,
    subject: Annotated[str, typer.Option(help="User id")] = "dev-user",
) -> None:
    """Print a development bearer token signed with pss dev's local key."""
    issuer, _ = _dev_issuer(_workdir())
    typer.echo(issuer.token(subject, [role], site or [], staff_ref=staff_ref))


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
) -> None:
    """Progress, a summary, the first rejected rows, the full report on request, and an exit
    code scripts can check (2: some rows were rejected)."""
    from pss_cli.imports import count_rows

    if token is None:  # pss dev's local admin
        issuer, _ = _dev_issuer(_workdir())
        token = issuer.token("pss-cli", [Role.AUTHORITY_ADMIN], ttl_seconds=3600)
    total = count_rows(file)
    with typer.progressbar(length=total, label=f"importing {total} {what}") as bar:
        result = send(token, bar.update)
    again = f", {result.already_recorded} already recorded" if result.already_recorded else ""
    typer.echo(f"{result.imported} imported, {len(result.rejected)} rejected{again}, of {result.rows} rows")
    for line, problem in result.rejected[:20]:
        typer.echo(f"  line {line}: {problem}")
    if len(result.rejected) > 20:
        typer.echo(f"  ... and {len(result.rejected) - 20} more" + (f" (all in {report})" if report else ""))
    if report:
        with report.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "problem"])
            writer.writerows(result.rejected)
    if result.rejected:
        raise typer.Exit(2)


@app.command()
def infra() -> None:
    """Start only Kafka and PostgreSQL and print how to reach them; Ctrl-C stops them."""
    infrastructure = Infrastructure.start(_workdir())
    typer.echo(f"KAFKA_BOOTSTRAP_SERVERS={infrastructure.kafka_bootstrap}")
    typer.echo(f"PSS_ADMIN_DATABASE_URL={infrastructure.admin_url}")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        infrastructure.stop()


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
        raise LauncherError(str(exc)) from exc
    for line in plan.commands(bootstrap, command_config, brokers=brokers, acls=not topics_only):
        typer.echo(line)
