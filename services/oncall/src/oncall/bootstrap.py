"""Wires oncall: plumbing, API, consumers, the timer, duty, coverage and delivery loops,
and the notifiers."""

import logging
import secrets
from datetime import timedelta
from functools import partial

from contracts.types import Urgency
from servicekit.mail import SmtpMailer
from servicekit.service import Service, build_service, repeat, single_flight
from servicekit.timers import TimerLoop, started
from servicekit.vault import PersonalDataVault

from oncall import delivery
from oncall import tables as t
from oncall.api import router
from oncall.consumers import make_subscriptions
from oncall.eligibility import AskMatching, EligibleNow, trust_the_snapshot
from oncall.escalation import ServiceLevels
from oncall.links import LinkSigner
from oncall.messages import QUEUED
from oncall.notifiers import (
    Channel,
    EmailNotifier,
    Notifier,
    RecordingNotifier,
    WebhookAllowList,
    WebhookNotifier,
)
from oncall.outgoing import Outgoing
from oncall.paging import timers
from oncall.paging.policy import PagingPolicy
from oncall.schedules import upkeep
from oncall.settings import OncallSettings
from oncall.sms.gateway import SmsGateway, SmsNotifier
from oncall.voice.calls import VoiceNotifier

log = logging.getLogger(__name__)


def _sms_gateway(settings: OncallSettings) -> SmsGateway | None:
    if settings.sms_gateway is None:
        return None
    status = "/sms/twilio/status" if settings.sms_gateway == "twilio" else "/sms/status"
    return SmsGateway(
        settings.sms_gateway,
        settings.sms_gateway_url,
        settings.sms_account,
        settings.sms_secret,
        settings.sms_from,
        settings.public_base_url.rstrip("/") + status,
    )


def build(
    settings: OncallSettings | None = None, notifiers: dict[Channel, Notifier] | None = None
) -> Service:
    settings = settings or OncallSettings()
    # every call oncall makes to others, on one kept client (closed when the service stops)
    http = Outgoing()
    eligible_now: EligibleNow = trust_the_snapshot
    if settings.matching_url and settings.service_token:
        eligible_now = AskMatching(settings.matching_url, settings.service_token, http=http)
    policy = PagingPolicy(
        ack_timeout=timedelta(seconds=settings.ack_timeout_seconds),
        crisis_ack_timeout=timedelta(seconds=settings.crisis_ack_timeout_seconds),
        supporters_in_chain=settings.supporters_in_chain,
        eligible_now=eligible_now,
        ack_timeout_by_urgency={
            Urgency(k): timedelta(seconds=v) for k, v in settings.ack_timeout_by_urgency.items()
        },
        fallback=settings.authority_fallback,
        rounds=settings.chain_rounds,
        time_zone=settings.authority_time_zone,
        levels=ServiceLevels(
            callback_within=timedelta(seconds=settings.callback_within_seconds),
            meet_within=timedelta(seconds=settings.meet_within_seconds),
        ),
    )
    service = build_service(
        "oncall",
        settings,
        subscriptions=make_subscriptions(policy),
        description="Schedules, paging episodes with durable timers, service levels and notifications.",
    )
    service.on_stop.append(http.close)
    secret = settings.page_link_secret
    if not secret:
        log.warning("PAGE_LINK_SECRET is not set: answer links will stop working at the next restart")
        secret = secrets.token_urlsafe(48)
    signer = LinkSigner(secret, valid_for=timedelta(seconds=settings.page_link_valid_seconds))
    vault = PersonalDataVault(settings.personal_data_keys) if settings.personal_data_keys else None
    webhooks = WebhookAllowList(tuple(settings.webhook_allowed))
    if notifiers is None:
        notifiers = {
            Channel.RECORDING: RecordingNotifier(),
            Channel.WEBHOOK: WebhookNotifier(webhooks, http=http),
        }
        if settings.smtp_host:
            mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
            notifiers[Channel.EMAIL] = EmailNotifier(mailer)
    gateway = _sms_gateway(settings)
    if gateway is not None:
        notifiers.setdefault(Channel.SMS, SmsNotifier(gateway, http=http))
        if gateway.kind == "twilio":
            notifiers.setdefault(Channel.VOICE, VoiceNotifier(gateway, settings.public_base_url, http=http))
    sending = delivery.Delivery(
        notifiers=notifiers,
        vault=vault,
        signer=signer,
        public_base_url=settings.public_base_url,
        attempts_per_route=settings.notify_attempts_per_route,
        backoff=timedelta(seconds=settings.notify_backoff_seconds),
        record_unrouted=settings.record_unrouted,
        phone_key=secret,
    )
    service.api.state.policy = policy
    service.api.state.signer = signer
    service.api.state.vault = vault
    service.api.state.webhooks = webhooks
    service.api.state.sms_gateway = gateway
    service.api.state.phone_key = secret
    service.api.include_router(router)
    paging_timers = TimerLoop(
        service.units_one_at_a_time(), t.timer, partial(timers.fire_due_timers, policy=policy)
    )
    service.loops += [
        partial(
            repeat,
            paging_timers.step,
            interval=settings.timer_poll_seconds,
            name="oncall.timers",
            # asleep until the next timer is due, or one started here commits
            rest=paging_timers.rest,
            wake=service.uow.signal(started(t.timer)),
        ),
        partial(
            repeat,
            partial(delivery.deliver_due, service.units_one_at_a_time(), sending),
            interval=settings.delivery_poll_seconds,
            name="oncall.notifications",
            # a message is sent as soon as the transaction that queued it commits; the poll
            # catches another replica's and a retry after its backoff
            wake=service.uow.signal(QUEUED),
            full=delivery.DELIVER_AT_ONCE,
        ),
        partial(
            repeat,
            single_flight(service.database, "oncall.duty", partial(upkeep.publish_duty_once, service.uow)),
            interval=settings.duty_poll_seconds,
            name="oncall.duty",
        ),
        partial(
            repeat,
            single_flight(
                service.database, "oncall.coverage", partial(upkeep.forecast_gaps_once, service.uow)
            ),
            interval=settings.coverage_poll_seconds,
            name="oncall.coverage",
        ),
    ]
    return service
