"""Every HTTP controller, registered with the app in this order."""

from evalsvc.api.controllers.assessments import AssessmentController
from evalsvc.api.controllers.audit import AuditController, HistoryController
from evalsvc.api.controllers.ballot_rounds import BallotRoundController, CommitteeKeyController
from evalsvc.api.controllers.ballots import BallotController
from evalsvc.api.controllers.cadres import CadreController, PeerGroupController
from evalsvc.api.controllers.catalogs import CatalogController
from evalsvc.api.controllers.confidence_votes import ConfidenceVoteController
from evalsvc.api.controllers.discipline import DisciplineController
from evalsvc.api.controllers.health import HealthController
from evalsvc.api.controllers.recompute import RecomputeController
from evalsvc.api.controllers.remediation import RemediationController
from evalsvc.api.controllers.results import ResultController, WhatIfController
from evalsvc.api.controllers.scoring import ScoringController
from evalsvc.api.controllers.tasks import TaskController
from evalsvc.api.controllers.unit_indicators import UnitIndicatorController
from evalsvc.api.controllers.units import UnitController

CONTROLLERS: list[type] = [
    HealthController,
    UnitController,
    CadreController,
    PeerGroupController,
    CatalogController,
    BallotRoundController,
    CommitteeKeyController,
    BallotController,
    TaskController,
    RemediationController,
    DisciplineController,
    AssessmentController,
    ConfidenceVoteController,
    UnitIndicatorController,
    RecomputeController,
    ResultController,
    WhatIfController,
    ScoringController,
    AuditController,
    HistoryController,
]
