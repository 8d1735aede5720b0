"""`pss dev`, `pss infra` and `pss token`: the local development environment (Kafka,
PostgreSQL, the identity provider, mail, Zipkin and Prometheus, the demo authority). Added
to the `pss` command when this package is installed; an authority's operators do without."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from servicekit.auth import DevTokenIssuer, Role

from pss_dev.local import LauncherError, repo_root
from pss_dev.local.identity import Account, add_account
from pss_dev.local.mailbox import Mailbox
from pss_dev.local.observability import Observability
from pss_dev.local.sms_gateway import PlacedCall, SmsGateway
from pss_dev.platform import Infrastructure, Platform
from pss_dev.seed import DEMO_AUTHORITY, seed_authority

app = typer.Typer()

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
    # texts and calls to supporters land in .run/sms/texts.jsonl and calls.jsonl; `pss sms-reply`
    # answers a text, `pss call-answer` picks up a call and presses a key
    sms = SmsGateway(workdir / "sms").start()
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
            extra_env={
                "intake": {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port)},
                "oncall": sms.oncall_env(),
            },
            telemetry_env=observability.service_env(),
        )
        observability.start_prometheus(platform.scrape_targets())
        observability.wait_ready()
        platform.start()
        urls = {name: platform.url(name) for name in platform.services}
        sms_file = workdir / "sms" / "gateway.json"
        sms_file.write_text(
            json.dumps({"token": sms.token, "account": sms.account, "oncall": urls["oncall"]})
        )
        sms_file.chmod(0o600)
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
        sms.stop()
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
    # a unit manager per site, to suggest support for someone on their team at /refer
    managers = [
        Account(
            f"manager@{s.site_id}", f"Manager at {s.name}", [Role.MANAGER.value], [s.site_id], s.people[0].ref
        )
        for s in DEMO_AUTHORITY
    ]
    return [
        *coordinators,
        *supporters,
        *managers,
        Account("coordinator@north", "Coordinator of the north region", [Role.SITE_COORDINATOR.value], north),
        Account("admin", "Authority administrator", [Role.AUTHORITY_ADMIN.value], []),
        Account("eap", "EAP staff", [Role.OCCUPATIONAL_HEALTH.value], []),
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


@app.command("sms-reply")
def sms_reply(
    phone: Annotated[str, typer.Argument(help="The number the text came to, e.g. +15550100199")],
    text: Annotated[str, typer.Argument(help='What the supporter texts back, e.g. "T 4821"')],
) -> None:
    """Answer a page's text on `make run`, as the local SMS gateway would pass a reply on."""
    gateway, oncall = _local_gateway()
    answer = gateway.reply(f"{oncall}/sms/twilio/inbound", phone, text)
    typer.echo(answer.text if answer.status_code == 200 else f"refused ({answer.status_code}): {answer.text}")


@app.command("call-answer")
def call_answer(
    phone: Annotated[str, typer.Argument(help="The number called, e.g. +15550100199")],
    key: Annotated[str, typer.Argument(help="The key pressed: 1 takes the page, 2 declines it")],
) -> None:
    """Pick up the last call to a phone on `make run`, hear it, and press a key."""
    gateway, _ = _local_gateway()
    calls = _workdir() / "sms" / "calls.jsonl"
    placed = (
        [PlacedCall(**json.loads(line)) for line in calls.read_text().splitlines()] if calls.exists() else []
    )
    mine = [c for c in placed if c.to == phone]
    if not mine:
        typer.secho(f"no call to {phone} yet: give someone a voice route and page them", fg="red", err=True)
        raise typer.Exit(1)
    heard = gateway.pick_up(mine[-1])
    typer.echo(_spoken(heard.text))
    action = re.search(r'action="([^"]+)"', heard.text)
    if action is None:
        return  # nothing to answer: the call said why and hung up
    pressed = gateway.press(mine[-1], html.unescape(action[1]), key)
    typer.echo(_spoken(pressed.text) if pressed.status_code == 200 else f"refused ({pressed.status_code})")


def _local_gateway() -> tuple[SmsGateway, str]:
    """The gateway `make run` started, as its file tells: the gateway and oncall's address."""
    found = _workdir() / "sms" / "gateway.json"
    if not found.exists():
        typer.secho("no local SMS gateway: start the platform with `make run` first", fg="red", err=True)
        raise typer.Exit(1)
    config = json.loads(found.read_text())
    return SmsGateway(account=config["account"], token=config["token"]), config["oncall"]


def _spoken(twiml: str) -> str:
    return " / ".join(html.unescape(said) for said in re.findall(r"<Say[^>]*>([^<]*)</Say>", twiml))


def register(cli: typer.Typer) -> None:
    """Add the development commands to the `pss` command."""
    cli.registered_commands += app.registered_commands


def local_admin_token() -> str:
    """An authority admin's token from pss dev's local key (imports against `make run`)."""
    issuer, _ = _dev_issuer(_workdir())
    return issuer.token("pss-cli", [Role.AUTHORITY_ADMIN], ttl_seconds=3600)
