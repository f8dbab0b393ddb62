"""Every route × every caller, with the outcome written down here.

The routes come from the app itself: a route added without a line in ``ALLOWED`` fails the
test. Callers: each role (scoped roles in the addressed objects' subtree and outside it), a
voter token and no credential. Every addressed object lies in DEP-A. Expected:

- anyone (``"*"``, public routes that take no credential): whatever the credential,
  never 401/403;
- no credential: 401 (voter routes: 401, or 400 for a body that does not decode);
- a voter token on an API-key route: 401; on a voter route: 403 (unknown voter token);
- a role not in ``ALLOWED``: 403;
- an allowed role: neither 401 nor 403, never a 5xx (a body ``{}`` may well be 400/422);
- a scoped key of DEP-B: never a 5xx, never DEP-A's data in any body (a cadre's name is the
  marker), and an addressed DEP-A object reads like one that does not exist (404).

Committee routes (``allow_people``) let every role's API key past the guard, and the store
then refuses anyone who is not a committee member signed in as a person: their entry here is
the empty set (every key: 403). Members with session tokens are tested in
tests/integration/test_ballots_paper.py and test_ballot_secrecy.py.

Not in this matrix: the web pages and their static files (``evalsvc.web.routes.page_routes()``).
They are public to the API-key guard and have their own guard (session cookie, CSRF), tested in
tests/web and tests/browser.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from evalsvc.api.app import create_app
from evalsvc.domain.access import Role
from evalsvc.settings import Settings
from evalsvc.web.routes import page_routes
from tests.conftest import make_key
from tests.integration.ballots_seed import add_catalog, round_body
from tests.integration.tasks_helpers import make_city

Client = AsyncTestClient  # type: ignore[type-arg]
A, P, H, U = "admin", "personnel", "hr_system", "auditor"
READ = {A, P, H, U}
WRITE = {A, P, H}
VOTER = "voter"
PEOPLE: set[str] = set()  # committee members' session tokens only: every API key 403

ALLOWED: dict[str, set[str]] = {
    "GET /health": {"*"},
    "GET /units": READ,
    "POST /units": {A, P},
    "GET /units/{code:str}": READ,
    "POST /units/bulk": {A, P},
    "GET /cadres": READ,
    "POST /cadres": WRITE,
    "GET /cadres/{code:str}": READ,
    "POST /cadres/{code:str}/move": {A, P},
    "POST /cadres/bulk": WRITE,
    "GET /peer-groups": READ,
    "POST /peer-groups/bulk": {A},
    "GET /catalogs": READ,
    "POST /catalogs": {A},
    "POST /catalogs/csv": {A},
    "GET /catalogs/{catalog_id:int}": READ,
    "DELETE /catalogs/{catalog_id:int}": {A},
    "POST /catalogs/{catalog_id:int}/publish": {A},
    "GET /ballot-rounds": {A, P, U},
    "POST /ballot-rounds": {A, P},
    "GET /ballot-rounds/{round_id:int}": {A, P, U},
    "PATCH /ballot-rounds/{round_id:int}": {A, P},
    "DELETE /ballot-rounds/{round_id:int}": {A, P},
    "POST /ballot-rounds/{round_id:int}/open": {A, P},
    "POST /ballot-rounds/{round_id:int}/close": {A, P},
    "POST /ballot-rounds/{round_id:int}/committee/share": PEOPLE,
    "GET /committee-key": PEOPLE,
    "PUT /committee-key": PEOPLE,
    "POST /ballot-rounds/{round_id:int}/paper-ballots": PEOPLE,
    "GET /ballot-rounds/{round_id:int}/paper-ballots": PEOPLE,
    "POST /ballot-rounds/{round_id:int}/paper-ballots/{upload_id:int}/confirm": PEOPLE,
    "GET /ballot-rounds/{round_id:int}/receipts/{receipt:str}": {"*"},
    "GET /ballot-rounds/{round_id:int}/participation": {A, P, U},
    "GET /ballot-rounds/{round_id:int}/invitations": {A, P},
    "POST /ballot-rounds/{round_id:int}/invitations/send": {A, P},
    "GET /ballot-rounds/{round_id:int}/tallies": {A, P, U},
    "GET /ballot-rounds/{round_id:int}/tallies/{target:str}": {A, P, U},
    "GET /ballot/targets": {VOTER},
    "POST /ballot/ballots": {VOTER},
    "POST /ballot/sheets": {VOTER},
    "POST /ballot/sealed-sheets": {VOTER},
    "GET /tasks": READ,
    "GET /tasks/totals": READ,
    "POST /tasks/batches": WRITE,
    "GET /remediation": READ,
    "POST /remediation": WRITE,
    "POST /remediation/bulk": WRITE,
    "GET /remediation/{item_id:int}": READ,
    "POST /remediation/{item_id:int}/verify": WRITE,
    "POST /remediation/{item_id:int}/cancel": WRITE,
    "GET /discipline": READ,
    "POST /discipline": WRITE,
    "POST /discipline/bulk": WRITE,
    "GET /assessments": READ,
    "POST /assessments": WRITE,
    "POST /assessments/bulk": WRITE,
    "GET /confidence-votes": READ,
    "POST /confidence-votes": WRITE,
    "POST /confidence-votes/bulk": WRITE,
    "GET /unit-indicators": READ,
    "POST /unit-indicators": WRITE,
    "POST /unit-indicators/bulk": WRITE,
    "GET /recomputations": READ,
    "POST /recomputations": {A, P},
    "GET /recomputations/{job_id:int}": READ,
    "POST /recomputations/{job_id:int}/cancel": {A, P},
    "GET /results/compare": READ,
    "GET /results/cadres/{code:str}": READ,
    "GET /results/units/{code:str}/members": READ,
    "GET /results/rankings": READ,
    "GET /results/runs": READ,
    "GET /results/runs/{run_id:int}": READ,
    "POST /what-if": {A, U},
    "POST /scoring/periods": READ,
    "GET /audit": {A, U},
    "GET /history/{object_type:str}/{object_key:path}": READ,
    "GET /metrics": {A, U},
}
ADDRESSED_READS_HIDDEN = {
    # Reads of one DEP-A object by a DEP-B key: 404, as for an object that does not exist.
    "GET /units/{code:str}",
    "GET /cadres/{code:str}",
    "GET /remediation/{item_id:int}",
    "GET /recomputations/{job_id:int}",
    "GET /results/runs/{run_id:int}",
    "GET /ballot-rounds/{round_id:int}",
    # The same for a write naming a DEP-A job (jobs/queue.py: cancel).
    "POST /recomputations/{job_id:int}/cancel",
}
# Calls that need more than a {} body to reach the store's check of the caller.
BODIES: dict[str, Any] = {
    "POST /ballot-rounds/{round_id:int}/close": {"shares": ["x"]},
    "PUT /committee-key": {"public_key": "5nwRQ4CO5ZMCMmxpZMfrisBAeUKyYFr/fUlmU6C5ZzQ="},
    "POST /ballot-rounds/{round_id:int}/paper-ballots": [
        {"target": "A1", "marks": "1", "level": "HT", "confidence": "normal", "comment": ""}
    ],
}
HEADERS = {"POST /ballot-rounds/{round_id:int}/paper-ballots": {"Idempotency-Key": "matrix"}}
# The guard admits every role's key (COMMITTEE, for the members' session tokens); the store
# answers the roles not in ALLOWED as for a round that does not exist (404), not 403.
REFUSED_AS_MISSING = {"POST /ballot-rounds/{round_id:int}/close"}
SECRET_NAME = "Nguyễn Bí Mật"


def page_paths() -> set[str]:
    """Paths of the web pages and static files, as ``page_routes()`` mounts them."""
    return {route.path for router in page_routes() for route in router.routes}


def routes(client: Client) -> list[tuple[str, str]]:
    found = []
    pages = page_paths()
    for route in client.app.routes:
        if route.path.startswith("/schema") or route.path in pages:
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append((method, route.path))
    return found


def fill(path: str, ids: dict[str, Any]) -> str:
    values = {
        "code": "A1" if path.startswith(("/cadres", "/results/cadres")) else "DEP-A",
        "catalog_id": ids["catalog"],
        "round_id": ids["round"],
        "target": "A1",
        "item_id": ids["item"],
        "job_id": ids["job"],
        "upload_id": 1,
        "receipt": "00" * 32,
        "run_id": ids["run"],
        "object_type": "cadre",
        "object_key": "A1",
    }
    return re.sub(r"\{(\w+):\w+\}", lambda m: str(values[m.group(1)]), path)


async def seed(conn: asyncpg.Connection) -> dict[str, Any]:
    await make_city(conn)
    await conn.execute("update cadres set full_name = $1 where code = 'A1'", SECRET_NAME)
    dep_a = await conn.fetchval("select id from units where code = 'DEP-A'")
    a1 = await conn.fetchval("select id from cadres where code = 'A1'")
    ids: dict[str, Any] = {"catalog": await add_catalog(conn)}
    ids["item"] = await conn.fetchval(
        "insert into remediation_items (cadre_id, origin, description, identified_on, due_on)"
        " values ($1, 'inspection', $2, '2026-01-01', '2026-06-01') returning id",
        a1,
        f"về {SECRET_NAME}",
    )
    ids["job"] = await conn.fetchval(
        "insert into recompute_jobs (period, scope_unit_id, profile_name, profile_version,"
        " profile, state) values ('2026-05', $1, 'nd335', '1', '{}', 'failed') returning id",
        dep_a,
    )
    ids["run"] = await conn.fetchval(
        "insert into result_runs (period, kind, first_month, months, scope_unit_id,"
        " profile_name, profile_version, profile, fingerprint, seed)"
        " values ('2026-05', 'month', '2026-05-01', 1, $1, 'nd335', '1', '{}', 'f', 1)"
        " returning id",
        dep_a,
    )
    return ids


async def test_every_route_answers_every_caller_as_written(
    conn: asyncpg.Connection, settings: Settings, db_dsn: str
) -> None:
    ids = await seed(conn)
    callers: dict[str, dict[str, str]] = {
        A: await make_key(conn, Role.ADMIN),
        U: await make_key(conn, Role.AUDITOR),
        P: await make_key(conn, Role.PERSONNEL, "DEP-A"),
        H: await make_key(conn, Role.HR_SYSTEM, "DEP-A"),
        P + "@B": await make_key(conn, Role.PERSONNEL, "DEP-B"),
        H + "@B": await make_key(conn, Role.HR_SYSTEM, "DEP-B"),
        VOTER: {"Authorization": "Bearer bv_" + "x" * 43},
        "none": {},
    }
    app = create_app(settings, db_dsn)
    async with AsyncTestClient(app=app) as client:
        admin = callers[A]
        made = await client.post(
            "/ballot-rounds", json=round_body(ids["catalog"], "DEP-A"), headers=admin
        )
        assert made.status_code == 201, made.text
        ids["round"] = made.json()["id"]
        found = routes(client)
        assert {f"{m} {p}" for m, p in found} == set(ALLOWED), "a route without expectations"
        failures = []
        # Deletions last, so every other call still finds the objects it addresses.
        for method, path in sorted(found, key=lambda route: route[0] == "DELETE"):
            key = f"{method} {path}"
            allowed = ALLOWED[key]
            url = fill(path, ids)
            # A {} body fails validation on most writes (BODIES: where it would hide the
            # caller check); calls that take none (open, publish) do act, which the later
            # calls' expectations allow for.
            body = BODIES.get(key, {} if method in ("POST", "PATCH") else None)
            for name, headers in callers.items():
                role = name.split("@")[0]
                response = await client.request(
                    method, url, json=body, headers={**headers, **HEADERS.get(key, {})}
                )
                status = response.status_code
                if status >= 500:
                    failures.append(f"{key} as {name}: {status} {response.text[:200]}")
                    continue
                if "*" in allowed:
                    ok = status not in (401, 403)
                elif name == "none":
                    ok = status == 401 or (VOTER in allowed and status == 400)
                elif name == VOTER:
                    ok = status in (400, 403) if VOTER in allowed else status == 401
                elif VOTER in allowed:
                    ok = status in (400, 403)  # an API key is no voter token
                elif role not in allowed:
                    ok = status == (404 if key in REFUSED_AS_MISSING else 403)
                else:
                    ok = status not in (401, 403)
                    if name.endswith("@B"):
                        ok = ok and SECRET_NAME not in response.text
                        if key in ADDRESSED_READS_HIDDEN:
                            ok = ok and status == 404
                if not ok:
                    failures.append(f"{key} as {name}: {status} {response.text[:200]}")
        assert failures == [], "\n".join(failures)
