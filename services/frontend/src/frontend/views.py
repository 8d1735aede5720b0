"""The coordinator's pages, one router per page: signing in, the queue, a case, the roster,
the schedule, the metrics. What they share is in frontend.web."""

from fastapi import APIRouter

from frontend.pages import case, metrics, queue, roster, schedule, signin

router = APIRouter()
for page in (signin, queue, case, roster, schedule, metrics):
    router.include_router(page.router)
