"""Every HTTP controller, registered with the app in this order."""

from evalsvc.api.controllers.health import HealthController
from evalsvc.api.controllers.tasks import TaskController

CONTROLLERS: list[type] = [
    HealthController,
    TaskController,
]
