"""Every HTTP controller, registered with the app in this order."""

from evalsvc.api.controllers.ballot_rounds import BallotRoundController
from evalsvc.api.controllers.ballots import BallotController
from evalsvc.api.controllers.health import HealthController

CONTROLLERS: list[type] = [
    HealthController,
    BallotRoundController,
    BallotController,
]
