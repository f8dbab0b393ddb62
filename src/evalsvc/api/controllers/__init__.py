"""Every HTTP controller, registered with the app in this order."""

from evalsvc.api.controllers.ballot_rounds import BallotRoundController
from evalsvc.api.controllers.ballots import BallotController
from evalsvc.api.controllers.cadres import CadreController, PeerGroupController
from evalsvc.api.controllers.catalogs import CatalogController
from evalsvc.api.controllers.health import HealthController
from evalsvc.api.controllers.recompute import RecomputeController
from evalsvc.api.controllers.results import ResultController, WhatIfController
from evalsvc.api.controllers.units import UnitController

CONTROLLERS: list[type] = [
    HealthController,
    UnitController,
    CadreController,
    PeerGroupController,
    CatalogController,
    BallotRoundController,
    BallotController,
    RecomputeController,
    ResultController,
    WhatIfController,
]
