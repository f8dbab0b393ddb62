"""Pure scoring core: numpy/scipy arrays in, arrays out (DOMAIN parts 3, 5, 6).

No I/O, logging, database or other evalsvc imports. See ``docs/scoring.md``.
"""

from evalsvc.scoring.annual import AnnualResult, rate_year
from evalsvc.scoring.explain import explain_month, explain_year
from evalsvc.scoring.inputs import (
    DisciplineRecords,
    Manifestations,
    MonthInputs,
    Org,
    Remediation,
    TaskRecords,
    TaskSums,
    YearInputs,
)
from evalsvc.scoring.monthly import MonthResult, score_month
from evalsvc.scoring.pipeline import YearRating, rate_all
from evalsvc.scoring.profiles import PROFILES, Profile, get_profile, profile_from_dict
from evalsvc.scoring.rankings import rank_intervals, rank_units
from evalsvc.scoring.units import rate_units_year, score_units_month
from evalsvc.scoring.whatif import WhatIf, what_if

__all__ = [
    "PROFILES",
    "AnnualResult",
    "DisciplineRecords",
    "Manifestations",
    "MonthInputs",
    "MonthResult",
    "Org",
    "Profile",
    "Remediation",
    "TaskRecords",
    "TaskSums",
    "WhatIf",
    "YearInputs",
    "YearRating",
    "explain_month",
    "explain_year",
    "get_profile",
    "profile_from_dict",
    "rank_intervals",
    "rank_units",
    "rate_all",
    "rate_units_year",
    "rate_year",
    "score_month",
    "score_units_month",
    "what_if",
]
