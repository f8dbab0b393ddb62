"""Login attempts: a few failures per account and per address, then a pause.

Kept in the serving process's memory (evalsvc serves from one process); a restart forgets
the counts, which only gives an attacker one more small batch of guesses.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

PER_ACCOUNT = 5
"""Failed logins per username within WINDOW_SECONDS..."""
PER_ADDRESS = 20
"""...and per client address (a person mistyping several usernames is still let in)."""
WINDOW_SECONDS = 15 * 60


class LoginLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        times = self._failures[key]
        while times and times[0] <= now - WINDOW_SECONDS:
            times.popleft()
        return times

    def wait_seconds(self, username: str, address: str) -> int:
        """0 when a login may be tried now, else how long to wait."""
        now = self._clock()
        waits = []
        for key, limit in ((f"u:{username}", PER_ACCOUNT), (f"a:{address}", PER_ADDRESS)):
            times = self._recent(key)
            if len(times) >= limit:
                waits.append(int(times[-limit] + WINDOW_SECONDS - now) + 1)
        return max(waits, default=0)

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        self._failures[f"u:{username}"].append(now)
        self._failures[f"a:{address}"].append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(f"u:{username}", None)
