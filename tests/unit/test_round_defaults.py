"""A new round's proposed window is valid whatever the time of day (it once closed at the
moment it opened after 17:00 Hà Nội, so the form was refused as it came)."""

from datetime import datetime

import pytest

from evalsvc.domain.localtime import HANOI
from evalsvc.web.pages.rounds import default_close


@pytest.mark.parametrize(
    ("hour", "minute", "closing_day"),
    [(8, 30, 2), (15, 59, 2), (16, 1, 3), (17, 0, 3), (21, 9, 3), (23, 59, 3)],
)
def test_a_new_round_closes_after_it_opens(hour: int, minute: int, closing_day: int) -> None:
    start = datetime(2026, 12, 2, hour, minute, tzinfo=HANOI)
    end = default_close(start)
    assert end == datetime(2026, 12, closing_day, 17, 0, tzinfo=HANOI)
    assert (end - start).total_seconds() >= 3600


def test_a_round_opened_on_new_year_s_eve_closes_on_new_year_s_day() -> None:
    end = default_close(datetime(2026, 12, 31, 20, 0, tzinfo=HANOI))
    assert end == datetime(2027, 1, 1, 17, 0, tzinfo=HANOI)
