"""Every HTTP controller, registered with the app in this order."""

from evalsvc.api.controllers.health import HealthController

CONTROLLERS: list[type] = [
    HealthController,
]
