"""training's HTTP API, one router per feature: certification (the catalogue, supporters'
records, rosters), recruitment, and supporting the supporters."""

from fastapi import APIRouter

from training.candidates import routes as candidates
from training.certification import routes as certification
from training.supporter_care import routes as supporter_care

router = APIRouter()
for feature in (certification, candidates, supporter_care):
    router.include_router(feature.router)
