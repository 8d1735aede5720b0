"""oncall's HTTP API, one router per feature: pages (answered, followed), duty and
schedules, service levels, each supporter's own settings, calendar feeds, and the SMS
gateway's texts and calls."""

from fastapi import APIRouter

from oncall.calendars import routes as calendars
from oncall.me import routes as me
from oncall.paging import link_page
from oncall.paging import routes as paging
from oncall.schedules import routes as schedules
from oncall.service_levels import routes as service_levels
from oncall.sms import routes as sms
from oncall.voice import routes as voice

router = APIRouter()
for feature in (paging, link_page, schedules, service_levels, me, calendars, sms, voice):
    router.include_router(feature.router)
