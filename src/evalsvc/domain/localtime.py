"""The service's local time: Hà Nội (UTC+7, no daylight saving), for pages and letters."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Final

HANOI: Final = timezone(timedelta(hours=7), "ICT")
