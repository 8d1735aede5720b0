"""A decision reads its pool a band at a time (the site, then the region, then the
authority), and the next band only when the decision so far fell short. On a real
PostgreSQL server, whatever the roster: that decision is the one the rules make over
everyone on the roster (matching.rules.in_pool picks the pool), ranks, counts of exclusions
and the width it stopped at."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matching import repository
from matching import tables as t
from matching.proposals.handlers import MatchingConfig, case_of, decide_for
from matching.ranking import decide_widening
from matching.rules import team_size
from servicekit.database import Database, UnitOfWorkFactory

pytestmark = pytest.mark.integration

# two sites in one region, one in another, one with no region
SITES = {"s-a": "r-1", "s-b": "r-1", "s-c": "r-2", "s-d": None}
CONFIG = MatchingConfig(deployment_cap=2, window_days=30, max_candidates=3)

supporters = st.lists(
    st.fixed_dictionaries(
        {
            "site_id": st.sampled_from(sorted(SITES)),
            "serves": st.sampled_from(["site", "region", "authority"]),
            "seniority": st.integers(1, 6),
            "paused": st.booleans(),
            "eligible": st.booleans(),
        }
    ),
    max_size=14,
)
cases = st.fixed_dictionaries(
    {
        "site_id": st.sampled_from(sorted(SITES)),
        "seniority": st.integers(1, 6),
        "prefers_other_site": st.booleans(),
        "group_size": st.one_of(st.none(), st.integers(2, 30)),
    }
)


class World:
    """One scratch schema and one event loop for every example."""

    def __init__(self, admin_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.database = Database(
            admin_url.replace("postgresql://", "postgresql+asyncpg://"),
            schema=f"scratch_{uuid.uuid4().hex[:8]}",
        )
        self.run(self._create())

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _create(self) -> None:
        async with self.database.engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{self.database.schema}"'))
            await conn.run_sync(t.metadata.create_all)

    async def roster(self, roster: list[dict[str, Any]], worker_seniority: int, worker_site: str) -> None:
        async with self.database.engine.begin() as conn:
            for table in (t.deployment, t.eligibility, t.supporter, t.person, t.site):
                await conn.execute(sa.delete(table))
            await conn.execute(sa.insert(t.site), [{"site_id": s, "region": r} for s, r in SITES.items()])
            people = [
                {"staff_ref": "st-worker", "site_id": worker_site, "seniority": worker_seniority},
                *(
                    {"staff_ref": f"st-{i:02d}", "site_id": s["site_id"], "seniority": s["seniority"]}
                    for i, s in enumerate(roster)
                ),
            ]
            await conn.execute(
                sa.insert(t.person),
                [{**p, "profession": "nursing", "years_experience": 3, "languages": ["en"]} for p in people],
            )
            for i, s in enumerate(roster):
                ref = f"st-{i:02d}"
                await conn.execute(
                    sa.insert(t.supporter).values(
                        staff_ref=ref,
                        paused=s["paused"],
                        mental_health_professional=False,
                        dual_relationships=[],
                        serves=s["serves"],
                        # as handlers.refresh_reach copies them from the directory
                        site_id=s["site_id"],
                        region=SITES[s["site_id"]],
                    )
                )
                await conn.execute(
                    sa.insert(t.eligibility).values(staff_ref=ref, eligible=s["eligible"], version=1)
                )

    async def decisions(self, case: dict[str, Any]) -> tuple[Any, Any]:
        request = {
            "worker": "st-worker",
            "prefers_other_site": case["prefers_other_site"],
            "group_size": case["group_size"],
        }
        now = datetime.now(UTC)
        async with UnitOfWorkFactory(self.database, producer="matching")() as uow:
            banded, team, _ = await decide_for(uow, CONFIG, case["site_id"], request, now)
            # everyone on the roster, site by site: the rules' own in_pool picks the pool
            everyone = [
                c
                for site, region in SITES.items()
                for c in await repository.candidates(
                    uow,
                    repository.SiteFacts(site, region),
                    now=now,
                    window_days=CONFIG.window_days,
                    reach=(repository.Reach.SITE,),
                )
            ]
            limit = CONFIG.max_candidates if team == 1 else max(CONFIG.broadcast_limit, team)
            assert team == team_size(case["group_size"], CONFIG.policy)
            at_once = decide_widening(
                await case_of(uow, case["site_id"], request),
                everyone,
                CONFIG.policy,
                limit=limit,
                needed=team,
            )
        return banded, at_once


@pytest.fixture(scope="module")
def world(infrastructure):  # type: ignore[no-untyped-def]
    made = World(infrastructure.admin_url)
    yield made
    made.run(made.database.dispose())
    made.loop.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(roster=supporters, case=cases)
def test_a_decision_read_a_band_at_a_time_is_the_rules_decision_over_everyone(world, roster, case):
    world.run(world.roster(roster, case["seniority"], case["site_id"]))
    banded, at_once = world.run(world.decisions(case))
    assert banded == at_once
