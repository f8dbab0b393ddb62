"""Moved: the demo city is ``evalsvc.democity`` (issue 17). These names stay importable from
here for code written against the old path while the other branches land; remove after."""

from evalsvc.democity.city import demo_cadres, demo_units, load_demo
from evalsvc.democity.common import PEER_GROUPS, load_sample_catalog, sample_catalog
from evalsvc.domain.access import SYSTEM

__all__ = [
    "PEER_GROUPS",
    "SYSTEM",
    "demo_cadres",
    "demo_units",
    "load_demo",
    "load_sample_catalog",
    "sample_catalog",
]
