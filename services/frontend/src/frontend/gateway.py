"""The platform's services, called with the signed-in user's token.

Every call carries the user's own bearer token, so each service decides what this user
may see; the front-end adds nothing to what a service answers and keeps none of it. The
trace context goes along, so a coordinator's click joins the referral's trace.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from opentelemetry.propagate import inject

from frontend.settings import FrontendSettings


def as_time(value: Any) -> datetime:
    """A time from a service's JSON answer (ISO 8601), or one already parsed."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class Refused(RuntimeError):
    """A service said no (4xx): ``status`` and the service's own message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Unavailable(RuntimeError):
    """A service could not be reached or failed (5xx)."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service


@dataclass
class PlatformServices:
    http: httpx.AsyncClient
    settings: FrontendSettings
    token: str

    async def _call(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # the worker's pages call intake's public ways in: no token, nothing to sign in with
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(kwargs.pop("headers", {}))
        inject(headers)
        base = getattr(self.settings, f"{service}_url")
        try:
            answer = await self.http.request(method, f"{base}{path}", headers=headers, **kwargs)
        except httpx.HTTPError:
            raise Unavailable(service) from None
        if answer.status_code >= 500:
            raise Unavailable(service)
        if answer.status_code >= 400:
            try:
                message = str(answer.json().get("message", answer.text))
            except ValueError:
                message = answer.text
            raise Refused(answer.status_code, message)
        return answer

    async def _json(self, service: str, path: str, **params: Any) -> Any:
        return (await self._call(service, "GET", path, params=params or None)).json()

    # --- the queue and a case ----------------------------------------------------------

    async def open_referrals(self, site_id: str) -> list[dict[str, Any]]:
        return await self._json("intake", f"/sites/{site_id}/referrals", open="true")  # type: ignore[no-any-return]

    async def ended_referrals(self, site_id: str, **filters: str) -> list[dict[str, Any]]:
        """The site's ended cases, found by id start, period (since, until) or outcome."""
        return await self._json("intake", f"/sites/{site_id}/referrals/ended", **filters)  # type: ignore[no-any-return]

    async def episodes(self, site_id: str) -> list[dict[str, Any]]:
        return await self._json("oncall", f"/sites/{site_id}/episodes")  # type: ignore[no-any-return]

    async def referral(self, referral_id: uuid.UUID) -> dict[str, Any]:
        return await self._json("intake", f"/referrals/{referral_id}")  # type: ignore[no-any-return]

    async def proposal(self, referral_id: uuid.UUID) -> dict[str, Any] | None:
        try:
            return await self._json("matching", f"/proposals/{referral_id}")  # type: ignore[no-any-return]
        except Refused as exc:
            if exc.status == 404:
                return None  # not decided yet
            raise

    async def eligible_now(self, referral_id: uuid.UUID) -> list[str]:
        """The supporters who could be assigned now, best first (matching's rules hold)."""
        try:
            found = await self._json("matching", f"/proposals/{referral_id}/eligible-now")
        except Refused as exc:
            if exc.status == 404:
                return []
            raise
        return [str(ref) for ref in found.get("eligible", [])]

    async def pages(self, referral_id: uuid.UUID) -> list[dict[str, Any]]:
        try:
            return await self._json("oncall", f"/referrals/{referral_id}/pages")  # type: ignore[no-any-return]
        except Refused as exc:
            if exc.status == 404:
                return []  # nobody paged yet
            raise

    async def access_log(self, referral_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._json("intake", f"/referrals/{referral_id}/access-log")  # type: ignore[no-any-return]

    async def reveal_contact(self, referral_id: uuid.UUID, purpose: str) -> dict[str, Any]:
        """The worker's contact: intake audits this read before it answers."""
        return await self._json("intake", f"/referrals/{referral_id}/contact", purpose=purpose)  # type: ignore[no-any-return]

    async def override(self, referral_id: uuid.UUID, supporter: str, reason: str) -> dict[str, Any]:
        answer = await self._call(
            "matching",
            "POST",
            f"/proposals/{referral_id}/override",
            json={"supporter": supporter, "reason": reason},
        )
        return answer.json()  # type: ignore[no-any-return]

    async def record(self, referral_id: uuid.UUID, step: str, body: dict[str, Any] | None = None) -> None:
        """A step of the case in intake: contacted, encounters, close or withdraw."""
        await self._call("intake", "POST", f"/referrals/{referral_id}/{step}", json=body)

    async def my_pages(self) -> list[dict[str, Any]]:
        """The pages waiting for the signed-in person's answer."""
        return await self._json("oncall", "/me/pages")  # type: ignore[no-any-return]

    async def my_cases(self) -> list[dict[str, Any]]:
        """The cases the signed-in supporter took: open first, then those ended lately."""
        return await self._json("intake", "/me/cases")  # type: ignore[no-any-return]

    async def answer_page(self, page_id: uuid.UUID, accept: bool) -> None:
        """The signed-in person answers a page sent to them (oncall checks it is theirs)."""
        await self._call("oncall", "POST", f"/pages/{page_id}/{'acknowledge' if accept else 'decline'}")

    # --- the supporter's own settings: availability, routes, training, debriefs -----------

    async def my_availability(self) -> dict[str, Any]:
        return await self._json("oncall", "/me/availability")  # type: ignore[no-any-return]

    async def set_availability(self, available: bool) -> None:
        await self._call("oncall", "PUT", "/me/availability", json={"available": available})

    async def my_routes(self) -> list[dict[str, str]]:
        return await self._json("oncall", "/me/contact-routes")  # type: ignore[no-any-return]

    async def set_routes(self, routes: list[dict[str, str]]) -> None:
        await self._call("oncall", "PUT", "/me/contact-routes", json=routes)

    # --- calendar feeds: a site's schedule, or my own shifts ----------------------------

    async def create_calendar(self, site_id: str | None, language: str) -> dict[str, str]:
        path = f"/sites/{site_id}/calendar-feed" if site_id else "/me/calendar-feed"
        return (await self._call("oncall", "POST", path, json={"language": language})).json()  # type: ignore[no-any-return]

    async def revoke_calendar(self, site_id: str | None) -> None:
        await self._call(
            "oncall", "DELETE", f"/sites/{site_id}/calendar-feed" if site_id else "/me/calendar-feed"
        )

    async def standing(self, staff_ref: str) -> dict[str, Any] | None:
        """The supporter's training standing, or None when training has no record of them."""
        try:
            return await self._json("training", f"/supporters/{staff_ref}")  # type: ignore[no-any-return]
        except Refused as exc:
            if exc.status == 404:
                return None
            raise

    async def courses(self) -> list[dict[str, Any]]:
        return await self._json("training", "/courses")  # type: ignore[no-any-return]

    async def my_debrief_prompts(self) -> list[dict[str, Any]]:
        return await self._json("training", "/me/debrief-prompts")  # type: ignore[no-any-return]

    async def answer_debrief_prompt(self, prompt_id: uuid.UUID, outcome: str) -> None:
        await self._call("training", "POST", f"/me/debrief-prompts/{prompt_id}", json={"outcome": outcome})

    # --- the worker's own pages: public, by the private key to their case ---------------

    async def site_resources(self, site_id: str) -> dict[str, Any]:
        return await self._json("intake", f"/sites/{site_id}/resources")  # type: ignore[no-any-return]

    async def _way_in(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """A request through one of intake's ways in; ``key`` makes a re-sent form the same
        request (one case)."""
        answer = await self._call("intake", "POST", path, json=body, headers={"Idempotency-Key": key})
        return answer.json()  # type: ignore[no-any-return]

    async def ask_for_support(
        self, body: dict[str, Any], key: str, *, colleague: bool = False
    ) -> dict[str, Any]:
        """The worker's request, or a worker's concern for a colleague."""
        return await self._way_in("/referrals/colleague" if colleague else "/referrals", body, key)

    async def suggest_support(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """A manager suggests support for a worker, signed in (the worker is asked privately)."""
        return await self._way_in("/referrals/manager", body, key)

    async def refer_for_eap(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """EAP or occupational health refers a worker who consented; a supporter contacts them."""
        return await self._way_in("/referrals/eap", body, key)

    async def every_site(self) -> list[dict[str, str]]:
        return await self._json("intake", "/sites")  # type: ignore[no-any-return]

    async def my_case(self, worker_token: str, step: str | None = None) -> dict[str, Any]:
        headers = {"Worker-Token": worker_token}
        if step is None:
            return (await self._call("intake", "GET", "/my-case", headers=headers)).json()  # type: ignore[no-any-return]
        return (await self._call("intake", "POST", f"/my-case/{step}", headers=headers)).json()  # type: ignore[no-any-return]

    # --- roster, schedule, metrics ------------------------------------------------------

    async def training_roster(self, site_id: str) -> list[dict[str, Any]]:
        return await self._json("training", f"/sites/{site_id}/supporters")  # type: ignore[no-any-return]

    async def matching_roster(self, site_id: str) -> dict[str, Any]:
        return await self._json("matching", f"/sites/{site_id}/supporters", days=30)  # type: ignore[no-any-return]

    async def schedule(self, site_id: str, start: str, end: str) -> dict[str, Any] | None:
        try:
            return await self._json("oncall", f"/sites/{site_id}/schedule", **{"from": start, "to": end})  # type: ignore[no-any-return]
        except Refused as exc:
            if exc.status == 404 and "no schedule" in exc.message:
                return None
            raise

    async def supporter_names(self, site_id: str) -> dict[str, str]:
        """Supporters' work names by staff reference; without them a page still says who
        by staff reference."""
        try:
            roster = await self.matching_roster(site_id)
        except (Refused, Unavailable):
            return {}
        supporters = roster.get("supporters", [])
        return {s["staff_ref"]: s["display_name"] for s in supporters if s.get("display_name")}

    async def site_zone(self, site_id: str) -> str | None:
        """The site's IANA zone, read from its schedule; None when it has none yet."""
        now = datetime.now(UTC)
        found = await self.schedule(site_id, now.isoformat(), (now + timedelta(hours=1)).isoformat())
        return str(found["time_zone"]) if found else None

    async def add_override(self, site_id: str, body: dict[str, Any]) -> None:
        await self._call("oncall", "POST", f"/sites/{site_id}/overrides", json=body)

    async def remove_override(self, site_id: str, override_id: int) -> None:
        await self._call("oncall", "DELETE", f"/sites/{site_id}/overrides/{override_id}")

    async def swap(self, site_id: str, body: dict[str, Any]) -> None:
        await self._call("oncall", "POST", f"/sites/{site_id}/swaps", json=body)

    async def periods(self) -> list[str]:
        return (await self._json("metrics", "/periods"))["periods"]  # type: ignore[no-any-return]

    async def aggregates(self, site_id: str, period: str) -> dict[str, Any]:
        return await self._json("metrics", f"/sites/{site_id}/aggregates", period=period)  # type: ignore[no-any-return]

    async def aggregates_csv(self, site_id: str, period: str) -> httpx.Response:
        return await self._call(
            "metrics", "GET", f"/sites/{site_id}/aggregates.csv", params={"period": period}
        )
