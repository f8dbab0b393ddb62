"""Keep voters' codes out of the server's access log.

A voter's code travels in the path (``/phieu/<code>``): uvicorn's access log line would
record it beside the time and address. This filter rewrites such paths to ``/phieu/…``.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

_CODE_PATH = re.compile(r"^(/phieu/)[^?\s]+")


class HideVoterCodes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _CODE_PATH.sub(r"\1…", args[2]), *args[3:])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the filter on its access logger."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["hide_voter_codes"] = {"()": HideVoterCodes}
    config["handlers"]["access"]["filters"] = ["hide_voter_codes"]
    return config
