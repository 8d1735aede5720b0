"""oncall's HTTP API, one router per feature: pages (answered, followed), duty and
schedules, service levels, and each supporter's own settings."""

from fastapi import APIRouter

from oncall.me import routes as me
from oncall.paging import link_page
from oncall.paging import routes as paging
from oncall.schedules import routes as schedules
from oncall.service_levels import routes as service_levels

router = APIRouter()
for feature in (paging, link_page, schedules, service_levels, me):
    router.include_router(feature.router)
