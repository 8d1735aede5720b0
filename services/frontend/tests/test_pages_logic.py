"""The pure parts of the pages: queue order, sessions, return paths, charts, contrast."""

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from frontend import charts
from frontend.queue import MATCH_EXPECTED_SECONDS, build_queue, counts
from frontend.session import Sealer, Session
from frontend.signin import safe_return_path

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def referral(n: int, minutes_ago: int, **extra: object) -> dict[str, object]:
    return {
        "referral_id": f"00000000-0000-0000-0000-00000000000{n}",
        "submitted_at": (NOW - timedelta(minutes=minutes_ago)).isoformat(),
        "status": "matched",
        "path": "self",
        "reason_category": "critical_incident",
        "reason_kind": "unexpected_patient_death",
        "urgency": "within_hours",
        "crisis": False,
        **extra,
    }


def episode(n: int, **extra: object) -> dict[str, object]:
    return {
        "referral_id": f"00000000-0000-0000-0000-00000000000{n}",
        "escalated": False,
        "unmatched": False,
        "paging_role": "supporter",
        "clocks": {},
        **extra,
    }


def test_the_rows_that_need_a_person_come_first_then_the_clock_that_runs_out_first():
    soon = {"callback": {"due_at": (NOW + timedelta(minutes=5)).isoformat(), "state": "running"}}
    later = {"callback": {"due_at": (NOW + timedelta(minutes=25)).isoformat(), "state": "running"}}
    missed = {"callback": {"due_at": (NOW - timedelta(minutes=1)).isoformat(), "state": "missed"}}
    rows = build_queue(
        [referral(1, 2), referral(2, 20), referral(3, 40), referral(4, 1), referral(5, 3)],
        [
            episode(1, clocks=later),
            episode(2, clocks=soon),
            episode(3, clocks=missed),
            episode(4, unmatched=True, paging_role="coordinator"),
            episode(5, escalated=True, clocks=later),
        ],
        NOW,
    )
    order = [r.referral_id[-1] for r in rows]
    assert order == ["3", "4", "5", "2", "1"]
    assert rows[0].attention == ["missed"]
    assert next(r for r in rows if r.referral_id.endswith("4")).attention == ["unmatched"]


def test_a_referral_matching_has_not_answered_for_long_is_called_out():
    late = MATCH_EXPECTED_SECONDS // 60 + 1
    rows = build_queue([referral(1, late, status="submitted"), referral(2, 0, status="submitted")], [], NOW)
    flagged = {r.referral_id[-1]: r.attention for r in rows}
    assert flagged == {"1": ["awaiting_match"], "2": []}


def test_a_case_whose_worker_the_directory_does_not_know_says_so_in_the_queue():
    rows = build_queue([referral(1, 2), referral(2, 3)], [episode(1, worker_unchecked=True), episode(2)], NOW)
    flagged = {r.referral_id[-1]: r.attention for r in rows}
    assert flagged == {"1": ["unchecked"], "2": []}
    assert rows[0].referral_id.endswith("1")  # it needs the coordinator: above the quiet rows


def test_a_session_cookie_cannot_be_read_changed_or_kept_past_its_time():
    sealer = Sealer(Fernet.generate_key().decode())
    session = Session("u", "U", ["site_coordinator"], ["a"], "token-xyz", time.time() + 60)
    sealed = sealer.seal_session(session)
    assert "token-xyz" not in sealed and "site_coordinator" not in sealed
    assert sealer.open_session(sealed) == session
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    assert sealer.open_session(tampered) is None
    assert Sealer(Fernet.generate_key().decode()).open_session(sealed) is None
    expired = Session("u", "U", ["site_coordinator"], ["a"], "t", time.time() - 1)
    assert sealer.open_session(sealer.seal_session(expired)) is None


def test_a_coordinator_acts_for_the_sites_in_their_sign_in_and_an_admin_for_all():
    coordinator = Session("u", "U", ["site_coordinator"], ["a"], "t", 0)
    assert coordinator.acts_for("a") and not coordinator.acts_for("b")
    assert Session("u", "U", ["authority_admin"], [], "t", 0).acts_for("b")
    assert not Session("u", "U", ["peer_supporter"], ["a"], "t", 0).acts_for("a")


def test_after_sign_in_the_user_returns_only_to_a_page_of_this_front_end():
    assert safe_return_path("/sites/a/queue") == "/sites/a/queue"
    for hostile in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "", None):
        assert safe_return_path(hostile) == "/"


def test_a_withheld_cell_is_drawn_as_withheld_never_as_zero():
    cells = [
        {"measure": "referrals_by_reason", "dimension": "critical_incident", "value": 12, "withheld": False},
        {
            "measure": "referrals_by_reason",
            "dimension": "patient_safety_incident",
            "value": 6,
            "withheld": False,
        },
        {
            "measure": "referrals_by_reason",
            "dimension": "work_related_stress",
            "value": None,
            "withheld": True,
        },
        {"measure": "referrals_by_reason", "dimension": "total", "value": 20, "withheld": False},
    ]
    (chart,) = charts.measure_charts(cells)
    assert chart.total is not None and chart.total.value == 20
    assert [(b.dimension, b.value, b.withheld) for b in chart.bars] == [
        ("critical_incident", 12, False),
        ("patient_safety_incident", 6, False),
        ("work_related_stress", None, True),
    ]
    assert [b.percent for b in chart.bars] == [100, 50, 0]


def test_a_metric_is_broken_down_in_words_in_both_languages_never_in_codes():
    from contracts.types import CaseOutcome, ConnectionPath, ReasonCategory, RecipientRole
    from frontend.i18n import Translator, catalogue

    counted_by = {
        "referrals_by_reason": ReasonCategory,
        "referrals_by_path": ConnectionPath,
        "acknowledged_pages": RecipientRole,
        "closed": CaseOutcome,
    }
    for measure, codes in counted_by.items():
        cell = {"measure": measure, "dimension": "x", "value": 1, "withheld": False}
        (chart,) = charts.measure_charts([cell])
        for code in codes:
            for language in ("en", "fr"):
                assert f"{chart.words}.{code.value}" in catalogue(language), (measure, code, language)
    (chart,) = charts.measure_charts(
        [{"measure": "callback_within_30_minutes", "dimension": "yes", "value": 1, "withheld": False}]
    )
    assert Translator("fr").label(chart.words, "yes") == "Oui"
    assert Translator("fr").label("category", "critical_incident") != "critical incident"


def test_the_calendar_cuts_shifts_at_local_midnight_and_shows_gaps_as_nobody():
    zone = ZoneInfo("America/Toronto")
    begin = datetime(2026, 11, 22, tzinfo=zone)
    at = lambda d, h: datetime(2026, 11, d, h, tzinfo=zone).isoformat()  # noqa: E731
    calendar = {
        "layers": {
            "primary": [
                {"starts_at": at(21, 20), "ends_at": at(22, 20), "supporter": "st-a", "source": "rotation"}
            ],
            "backup": [{"starts_at": at(22, 8), "ends_at": at(22, 20), "supporter": None, "source": None}],
        }
    }
    day = charts.calendar_days(calendar, begin, zone, days=1)[0]
    assert [(s.starts, s.ends, s.supporter) for s in day.slots["primary"]] == [("00:00", "20:00", "st-a")]
    assert day.has_gap and day.slots["backup"][0].gap


def test_the_queue_says_who_is_paged_by_their_work_name_and_since_when():
    since = (NOW - timedelta(minutes=4)).isoformat()
    rows = build_queue(
        [referral(1, 5), referral(2, 5), referral(3, 5)],
        [
            episode(1, paging="st-a", paging_since=since, time_zone="America/Vancouver"),
            episode(2, paging="st-b", paging_since=since),  # no work name in the directory
            episode(3, paging_role=None),
        ],
        NOW,
        {"st-a": "Amira K."},
    )
    who = {r.referral_id[-1]: (r.paging_who, r.paging_since, r.site_zone) for r in rows}
    assert who["1"] == ("Amira K.", NOW - timedelta(minutes=4), "America/Vancouver")
    assert who["2"][0] == "st-b"
    assert who["3"] == (None, None, None)


def test_within_the_same_need_the_more_urgent_request_comes_first():
    rows = build_queue(
        [
            referral(1, 50, urgency="within_days"),
            referral(2, 1, urgency="as_soon_as_possible"),
            referral(3, 30, urgency="within_hours"),
        ],
        [episode(1), episode(2), episode(3)],
        NOW,
    )
    assert [r.referral_id[-1] for r in rows] == ["2", "3", "1"]


def test_the_counts_above_the_queue_add_up_each_reason_a_row_needs_a_person():
    rows = build_queue(
        [referral(1, 1, crisis=True), referral(2, 1), referral(3, 1), referral(4, 1)],
        [
            episode(1, escalated=True),
            episode(2, failed_deliveries=2),
            episode(3, unmatched=True),
            episode(4, clocks={"callback": {"due_at": NOW.isoformat(), "state": "missed"}}),
        ],
        NOW,
    )
    assert counts(rows) == {"crisis": 1, "escalated": 1, "missed": 1, "unmatched": 1, "undelivered": 1}
    assert rows[0].attention[0] == "crisis"
    assert "undelivered" in next(r for r in rows if r.referral_id.endswith("2")).attention


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_text_colour_meets_wcag_aa_on_its_background():
    css = (Path(__file__).parents[1] / "src" / "frontend" / "static" / "app.css").read_text()
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))
    pairs = re.findall(r"--([a-z-]+):\s*#[0-9a-f]{6};\s*/\* on --([a-z-]+) \*/", css)
    assert len(pairs) >= 6
    for ink, background in pairs:
        light, dark = sorted((_luminance(colours[ink]), _luminance(colours[background])), reverse=True)
        assert (light + 0.05) / (dark + 0.05) >= 4.5, (ink, background)


def test_the_focus_outline_shows_at_3_to_1_or_more_on_the_page():
    css = (Path(__file__).parents[1] / "src" / "frontend" / "static" / "app.css").read_text()
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))
    light, dark = sorted((_luminance(colours["focus"]), _luminance(colours["paper"])), reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 3


def test_a_session_ends_at_the_night_s_end_or_after_an_hour_with_nothing_done():
    sealer = Sealer(Fernet.generate_key().decode())
    now = time.time()

    def session(last_seen: float, expires_at: float) -> Session:
        return Session("s", "Sam", ["site_coordinator"], ["north"], "token", expires_at, last_seen=last_seen)

    hour = 3600.0
    active = sealer.seal_session(session(now - 10, now + 11 * hour))
    idle = sealer.seal_session(session(now - hour - 1, now + 11 * hour))
    over = sealer.seal_session(session(now - 10, now - 1))
    assert sealer.open_session(active, idle_seconds=hour) is not None
    assert sealer.open_session(idle, idle_seconds=hour) is None
    assert sealer.open_session(over, idle_seconds=hour) is None
    assert session(now, now + 12 * hour).ends_at(hour) == now + hour


def test_a_request_someone_makes_moves_the_idle_clock_on_and_the_queue_s_own_refresh_does_not():
    from fastapi.testclient import TestClient
    from frontend.bootstrap import build
    from frontend.session import COOKIE
    from frontend.settings import FrontendSettings

    key = Fernet.generate_key().decode()
    app = build(FrontendSettings(session_key=key))
    sealer = Sealer(key)
    now = time.time()
    # a supporter's account with no staff reference: /me answers 404 before calling any service
    sealed = sealer.seal_session(
        Session("s", "Sam", ["peer_supporter"], ["north"], "token", now + 3600, last_seen=now - 50 * 60)
    )
    client = TestClient(app, follow_redirects=False)
    client.cookies.set(COOKIE, sealed)

    automatic = client.get("/me", headers={"X-PSS-Automatic": "1"})
    assert automatic.status_code == 404 and COOKIE not in automatic.cookies
    by_hand = client.get("/me")
    assert by_hand.status_code == 404
    renewed = sealer.open_session(by_hand.cookies[COOKIE])
    assert renewed is not None and renewed.last_seen > now - 5

    idle = sealer.seal_session(
        Session("s", "Sam", ["peer_supporter"], ["north"], "token", now + 3600, last_seen=now - 61 * 60)
    )
    client.cookies.clear()
    client.cookies.set(COOKIE, idle)
    assert client.get("/me", headers={"X-PSS-Automatic": "1"}).status_code == 401
    assert client.get("/me").headers["location"].startswith("/signin?next=/me")
