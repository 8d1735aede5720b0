"""The front-end's pages, one router per page: the worker's own (asking for help, their
case), the supporter's (their pages and cases, their settings), and the coordinator's
(signing in, the queue, a case, the roster, the schedule, the metrics). What they share is
in frontend.web."""

from fastapi import APIRouter

from frontend.pages import (
    ask,
    calendar,
    case,
    history,
    me,
    metrics,
    queue,
    refer,
    roster,
    schedule,
    settings,
    signin,
)

router = APIRouter()
for page in (ask, signin, me, settings, refer, queue, case, history, roster, schedule, calendar, metrics):
    router.include_router(page.router)
