"""Every HTTP controller, registered with the app in this order."""

from evalsvc.api.controllers.cadres import CadreController, PeerGroupController
from evalsvc.api.controllers.catalogs import CatalogController
from evalsvc.api.controllers.health import HealthController
from evalsvc.api.controllers.tasks import TaskController
from evalsvc.api.controllers.units import UnitController

CONTROLLERS: list[type] = [
    HealthController,
    UnitController,
    CadreController,
    PeerGroupController,
    CatalogController,
    TaskController,
]
