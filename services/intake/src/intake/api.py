"""intake's HTTP API, one router per feature: the sites' public data, every way a worker
reaches the program, the worker's own view of their case, and the case for the coordinators
and supporters who work it."""

from fastapi import APIRouter

from intake.casework import routes as casework
from intake.sites import routes as sites
from intake.ways_in import outreach
from intake.ways_in import routes as ways_in
from intake.worker_view import routes as worker_view

router = APIRouter()
for feature in (sites, ways_in, outreach, worker_view, casework):
    router.include_router(feature.router)
