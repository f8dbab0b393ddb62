"""The contract as an HR system's integrator meets it: a client generated with
``openapi-python-client`` from the running service's ``/schema/openapi.json`` (with the
config shipped in ``examples/``) builds without a single warning, and its typed models read
the demo city's answers field for field as the JSON API gives them.

Beside it, every JSON answer this test receives is checked against the schema its operation
documents (jsonschema-rs, which schemathesis brings), including ballot rounds, whose 200s an
empty city never reaches under schemathesis.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
import jsonschema_rs
import pytest
import uvicorn

from evalsvc.api.app import create_app
from evalsvc.domain.access import Role
from evalsvc.settings import Settings
from tests.conftest import make_key
from tests.web.demo_city import demo_conn, demo_dsn, demo_template

__all__ = ["demo_conn", "demo_dsn", "demo_template"]

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "examples" / "openapi-python-client.yaml"
BIN = Path(sys.executable).parent


@pytest.fixture
def live_server(tmp_path: Path, demo_dsn: str) -> Iterator[str]:
    """The demo city (2026 published) served by uvicorn on a free loopback port."""
    settings = Settings(
        database_url=demo_dsn, data_dir=str(tmp_path), pool_max_size=4, in_process_worker=True
    )
    config = uvicorn.Config(
        create_app(settings, demo_dsn), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def generate(schema: dict[str, Any], out: Path) -> tuple[ModuleType, str]:
    """Run the generator as an integrator would; answer the package and what it printed."""
    (out / "openapi.json").write_text(json.dumps(schema))
    run = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(out / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(out / "evalsvc_client"),
            "--config",
            str(CONFIG),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=out,
        # Its post hooks format the code with ruff (a dev dependency, beside the generator).
        env=os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    printed = run.stdout + run.stderr
    assert run.returncode == 0, printed
    sys.path.insert(0, str(out))
    importlib.invalidate_caches()
    return importlib.import_module("evalsvc_client"), printed


class Contract:
    """Checks a JSON answer against the schema its operation documents for its status."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.defs = self._local(schema["components"]["schemas"])
        self.checked: list[str] = []

    @staticmethod
    def _local(fragment: Any) -> Any:
        text = json.dumps(fragment).replace("#/components/schemas/", "#/$defs/")
        return json.loads(text)

    def check(self, method: str, template: str, response: httpx.Response) -> Any:
        documented = self.schema["paths"][template][method]["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method} {template}: {status} is not documented"
        body = response.json()
        media = documented[status]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.Draft202012Validator(self._local(media) | {"$defs": self.defs})
        errors = [f"{e.instance_path}: {e.message[:200]}" for e in validator.iter_errors(body)]
        assert errors == [], f"{method.upper()} {template} {status}"
        self.checked.append(f"{method.upper()} {template} {status}")
        return body


def same(typed: Any, raw: Any) -> bool:
    """A generated model's ``to_dict()`` says what the JSON said (timestamps compared as
    times: the model writes them back with ``+00:00`` where the JSON has ``Z``)."""
    if isinstance(typed, dict) and isinstance(raw, dict):
        return typed.keys() == raw.keys() and all(same(typed[k], raw[k]) for k in raw)
    if isinstance(typed, list) and isinstance(raw, list):
        return len(typed) == len(raw) and all(same(t, r) for t, r in zip(typed, raw, strict=True))
    if isinstance(typed, str) and isinstance(raw, str) and typed != raw:
        try:
            return datetime.fromisoformat(typed) == datetime.fromisoformat(raw)
        except ValueError:
            return False
    return bool(typed == raw)


def _wait_for_job(get_job: Any, client: Any, job_id: int) -> Any:
    for _ in range(600):
        job = get_job.sync(job_id=job_id, client=client)
        if job.state.value in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("the recomputation did not finish")


@pytest.fixture
async def admin_headers(demo_conn: asyncpg.Connection) -> dict[str, str]:
    return await make_key(demo_conn, Role.ADMIN)


def test_a_generated_client_builds_without_warnings_and_reads_typed_answers(
    live_server: str, admin_headers: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    headers = admin_headers
    token = headers["Authorization"].removeprefix("Bearer ")
    stack = ExitStack()
    request.addfinalizer(stack.close)
    http = stack.enter_context(httpx.Client(base_url=live_server, headers=headers, timeout=60))
    schema = http.get("/schema/openapi.json").json()
    contract = Contract(schema)

    package, printed = generate(schema, tmp_path)
    lines = [line for line in printed.splitlines() if line.strip()]
    print("openapi-python-client:", lines)
    assert "warning" not in printed.lower(), printed
    assert lines == [f"Generating {tmp_path / 'evalsvc_client'}"], printed

    models = importlib.import_module("evalsvc_client.models")
    files = importlib.import_module("evalsvc_client.types")
    client = stack.enter_context(package.AuthenticatedClient(base_url=live_server, token=token))

    def op(name: str) -> Any:
        """The generated module of an operation (``<tag>.<module>``)."""
        return importlib.import_module(f"evalsvc_client.api.{name}")

    # Units: a typed page.
    units = op("units.units_list_units").sync(client=client, limit=5)
    assert isinstance(units, models.UnitPage), units
    raw = contract.check("get", "/units", http.get("/units", params={"limit": 5}))
    assert units.total == raw["total"]
    assert units.total > 5
    assert [(u.code, u.name, u.kind) for u in units.items] == [
        (u["code"], u["name"], u["kind"]) for u in raw["items"]
    ]

    # Rankings of the published year: ranks are integers, U a float, movement an integer.
    rankings = op("results.results_rankings_list_rankings").sync(client=client, period="2026")
    assert isinstance(rankings, models.RankingPage), rankings
    raw = contract.check(
        "get", "/results/rankings", http.get("/results/rankings", params={"period": "2026"})
    )
    assert rankings.total == raw["total"] > 0
    for typed, plain in zip(rankings.items, raw["items"], strict=True):
        assert (typed.block, typed.code, typed.rank, typed.u, typed.level, typed.movement) == (
            plain["block"],
            plain["code"],
            plain["rank"],
            plain["u"],
            plain["level"],
            plain["movement"],
        )
        assert typed.rank is None or isinstance(typed.rank, int)
        assert typed.u is None or isinstance(typed.u, float)
    ranked = [r for r in rankings.items if r.ranked]
    assert ranked
    assert all(isinstance(r.rank, int) for r in ranked)

    # A unit's members with their levels (the whole subtree).
    members = op("results.results_units_code_members_list_unit_members").sync(
        code="SNV", client=client, period="2026", subtree=True, limit=50
    )
    assert isinstance(members, models.MemberPage), members
    raw = contract.check(
        "get",
        "/results/units/{code}/members",
        http.get(
            "/results/units/SNV/members", params={"period": "2026", "subtree": True, "limit": 50}
        ),
    )
    assert members.total == raw["total"] > 0
    assert [(m.code, m.score, m.level, m.position.value) for m in members.items] == [
        (m["code"], m["score"], m["level"], m["position"]) for m in raw["items"]
    ]
    rated = next(m for m in members.items if m.level in ("HTXS", "HTT"))

    # Runs, and one run by id.
    runs = op("results.results_runs_list_runs").sync(client=client, period="2026")
    assert isinstance(runs, models.RunPage), runs
    published = next(r for r in runs.items if r.published)
    raw = contract.check(
        "get",
        "/results/runs/{run_id}",
        http.get(f"/results/runs/{published.id}"),
    )
    run = op("results.results_runs_run_id_get_run").sync(run_id=published.id, client=client)
    assert isinstance(run, models.RunView), run
    assert (run.id, run.period, run.fingerprint, run.profile.name) == (
        raw["id"],
        raw["period"],
        raw["fingerprint"],
        raw["profile"]["name"],
    )
    assert run.created_at.isoformat().startswith(raw["created_at"][:19])
    assert run.timings.additional_properties == raw["timings"]

    # A discipline decision (written through the client) drops a rated cadre's level; the
    # recomputation publishes a new run, and the comparison names the cadre.
    decision = models.DisciplineIn(
        cadre_code=rated.code,
        form=models.DisciplineInForm.CANH_CAO,
        track=models.DisciplineInTrack.ADMINISTRATIVE,
        violation_id="contract-test",
        decided_on=date(2026, 5, 4),
        effective_on=date(2026, 5, 10),
    )
    stored = op("discipline.discipline_create_discipline").sync(client=client, body=decision)
    assert isinstance(stored, models.Discipline), stored
    job = op("recomputations.recomputations_create_recomputation").sync(
        client=client, body=models.RecomputeRequest(period="2026")
    )
    assert isinstance(job, models.Job), job
    job = _wait_for_job(
        op("recomputations.recomputations_job_id_get_recomputation"), client, job.id
    )
    assert job.state.value == "succeeded", job.error
    changes = op("results.results_compare_compare_runs").sync(client=client, period="2026")
    assert isinstance(changes, models.CadreComparison), changes
    raw = contract.check(
        "get", "/results/compare", http.get("/results/compare", params={"period": "2026"})
    )
    assert (changes.a, changes.b) == (published.id, job.run_id) == (raw["a"], raw["b"])
    mine = next(c for c in changes.items if c.code == rated.code)
    assert (mine.level_a, mine.level_b) == (rated.level, "KHT")
    assert [(c.code, c.level_a, c.level_b, c.score_b) for c in changes.items] == [
        (c["code"], c["level_a"], c["level_b"], c["score_b"]) for c in raw["items"]
    ]
    units_moved = op("results.results_compare_compare_runs").sync(
        client=client, period="2026", what=models.ResultsCompareCompareRunsWhat.UNITS
    )
    assert isinstance(units_moved, models.UnitComparison | models.CadreComparison)
    contract.check(
        "get",
        "/results/compare",
        http.get("/results/compare", params={"period": "2026", "what": "units"}),
    )

    # A CSV upload through the client: the body goes as bytes with its own Content-Type.
    rows = "code,text,group,forms\n1.01,Đi muộn về sớm,1,leader;staff\n".encode()
    catalog = op("catalogs.catalogs_csv_create_catalog_from_csv").sync(
        client=client,
        body=files.File(payload=io.BytesIO(rows)),
        name="contract-test",
        title="Contract test",
    )
    assert isinstance(catalog, models.Catalog), catalog
    assert (catalog.name, catalog.status, catalog.leader_items) == ("contract-test", "draft", 1)

    # Bulk uploads (a body of JSON rows or of CSV/NDJSON bytes) through the generated
    # functions: units as JSON rows, then as CSV; task records as CSV and as NDJSON.
    bulk_units = op("units.units_bulk_upsert_units")
    unit = http.get("/units/SNV").json()
    fields = ("code", "name", "kind", "parent_code", "ranking_block", "agency", "outstanding_years")
    row = {k: unit[k] for k in fields}
    summary = bulk_units.sync(
        client=client, body=[models.UnitsBulkUpsertUnitsJsonUnitCreate.from_dict(row)]
    )
    assert isinstance(summary, models.UpsertSummary), summary
    assert (summary.inserted, summary.updated + summary.unchanged) == (0, 1)
    years = ";".join(str(y) for y in unit["outstanding_years"])
    agency = "" if unit["agency"] is None else str(unit["agency"]).lower()
    csv_row = [unit["code"], unit["name"], unit["kind"], unit["parent_code"] or ""]
    csv_row += [unit["ranking_block"] or "", agency, years]
    units_csv = ",".join(fields) + "\n" + ",".join(csv_row) + "\n"
    summary = bulk_units.sync(
        client=client, body=files.File(payload=io.BytesIO(units_csv.encode()))
    )
    assert isinstance(summary, models.UpsertSummary), summary
    assert (summary.inserted, summary.unchanged) == (0, 1)
    upload_tasks = op("tasks.tasks_batches_upload_batch")
    tasks_csv = (
        "source_system,external_id,cadre_code,month,product_code,k,assigned,done\n"
        f"contract,T-1,{rated.code},2026-11,VB,1,10,9\n"
        f"contract,T-2,{rated.code},2026-11,VB,1.5,4,4\n"
    )
    batch = upload_tasks.sync(
        client=client,
        body=files.File(payload=io.BytesIO(tasks_csv.encode()), mime_type="text/csv"),
    )
    assert isinstance(batch, models.TaskBatchSummary), batch
    assert (batch.rows, batch.inserted) == (2, 2)
    ndjson = json.dumps(
        {
            "source_system": "contract",
            "external_id": "T-1",
            "cadre_code": rated.code,
            "month": "2026-11",
            "product_code": "VB",
            "k": 1,
            "assigned": 10,
            "done": 10,
        }
    )
    batch = upload_tasks.sync(
        client=client,
        body=files.File(
            payload=io.BytesIO(f"{ndjson}\n".encode()), mime_type="application/x-ndjson"
        ),
    )
    assert isinstance(batch, models.TaskBatchSummary), batch
    assert (batch.rows, batch.updated) == (1, 1)

    # The cadre's explained rating: the annual stage that applied the discipline, and the
    # months' task figures, whose ratio named "d" the generated model reads like the others.
    explained = op("results.results_cadres_code_get_cadre_results").sync(
        code=rated.code, client=client, period="2026"
    )
    assert isinstance(explained, models.CadreResults), explained
    raw = contract.check(
        "get", "/results/cadres/{code}", http.get(f"/results/cadres/{rated.code}?period=2026")
    )
    assert same(explained.to_dict(), raw)
    assert raw["annual"]["level"]["code"] == "KHT"
    assert "discipline" in raw["annual"]["reasons"]
    assert len(raw["months"]) == 12
    assert [(m.task.d, m.task.dd, m.task.e) for m in explained.months] == [
        (m["task"]["d"], m["task"]["dd"], m["task"]["e"]) for m in raw["months"]
    ]
    # A head's d (given, as an HR system knows it) through the stateless scoring: the request
    # model writes it, the answer's task ratios read it back.
    head = {
        "code": "CONTRACT-1",
        "position": "head",
        "unit": "SNV",
        "totals": {"assigned": 10.0, "done": 9.0, "quality": 9.0, "timely": 8.0},
        "d": 0.5,
        "dd": 1.0,
        "e": 0.75,
    }
    scoring = {"period": "2026-05", "cadres": [head]}
    request_model = models.ScoringRequest.from_dict(scoring)
    assert request_model.cadres[0].d == 0.5
    assert request_model.cadres[0].to_dict() == head
    scored = op("scoring.scoring_periods_score_periods").sync(client=client, body=request_model)
    assert isinstance(scored, models.ScoringResult), scored
    raw = contract.check("post", "/scoring/periods", http.post("/scoring/periods", json=scoring))
    assert same(scored.to_dict(), raw)
    assert (scored.items[0].task.d, scored.items[0].task.dd) == (0.5, 1.0)
    assert scored.items[0].task.d == raw["items"][0]["task"]["d"]

    # Ballot rounds, tallies and the other answers that an empty city never gives.
    rounds = contract.check("get", "/ballot-rounds", http.get("/ballot-rounds"))
    closed = rounds["items"][0]
    round_id = closed["id"]
    tallies = contract.check(
        "get", "/ballot-rounds/{round_id}/tallies", http.get(f"/ballot-rounds/{round_id}/tallies")
    )
    # ... and the same through the generated client: typed models, field for field.
    ballots = "ballots.ballot_rounds_round_id_"
    typed_rounds = op("ballots.ballot_rounds_list_rounds").sync(client=client)
    assert isinstance(typed_rounds, models.BallotRoundPage), typed_rounds
    assert same(typed_rounds.to_dict(), rounds)
    for module, model, url in (
        ("get_round", models.BallotRound, f"/ballot-rounds/{round_id}"),
        ("tallies_list_tallies", models.RoundTallies, f"/ballot-rounds/{round_id}/tallies"),
        (
            "participation_participation",
            models.Participation,
            f"/ballot-rounds/{round_id}/participation",
        ),
    ):
        typed = op(ballots + module).sync(round_id=round_id, client=client)
        assert isinstance(typed, model), (module, typed)
        assert same(typed.to_dict(), http.get(url).json()), module
    target = tallies["items"][0]["target"]
    tally = op(ballots + "tallies_target_get_tally").sync(
        round_id=round_id, target=target, client=client
    )
    assert isinstance(tally, models.TargetTally), tally
    assert same(tally.to_dict(), http.get(f"/ballot-rounds/{round_id}/tallies/{target}").json())
    invitations = op(ballots + "invitations_list_invitations").sync(
        round_id=round_id, client=client
    )
    assert isinstance(invitations, list), invitations
    assert all(isinstance(i, models.Invitation) for i in invitations)
    assert same(
        [i.to_dict() for i in invitations],
        http.get(f"/ballot-rounds/{round_id}/invitations").json(),
    )
    for template, url in (
        ("/ballot-rounds/{round_id}", f"/ballot-rounds/{round_id}"),
        ("/ballot-rounds/{round_id}/participation", f"/ballot-rounds/{round_id}/participation"),
        ("/ballot-rounds/{round_id}/invitations", f"/ballot-rounds/{round_id}/invitations"),
        (
            "/ballot-rounds/{round_id}/tallies/{target}",
            f"/ballot-rounds/{round_id}/tallies/{tallies['items'][0]['target']}",
        ),
        ("/health", "/health"),
        ("/peer-groups", "/peer-groups"),
        ("/catalogs", "/catalogs"),
        ("/recomputations", "/recomputations"),
        ("/tasks", "/tasks?month=2026-03&limit=5"),
        ("/tasks/totals", "/tasks/totals?month=2026-03&limit=5"),
        ("/results/rankings", "/results/rankings?period=2026-03&limit=5"),
        ("/results/units/{code}/members", "/results/units/SNV/members?period=2026-03"),
        ("/results/cadres/{code}", f"/results/cadres/{rated.code}?period=2026-03"),
        ("/results/runs", "/results/runs"),
    ):
        response = http.get(url)
        assert response.status_code == 200, (url, response.text)
        contract.check("get", template, response)
    what_if = http.post("/what-if", json={"period": "2026", "changes": {"quota_ratio": 0.1}})
    assert what_if.status_code == 200, what_if.text
    contract.check("post", "/what-if", what_if)
    print("answers checked against their schemas:", len(contract.checked))


def test_the_contract_check_refuses_an_answer_outside_its_schema() -> None:
    """The schema check above can fail: a rank given as text is refused."""
    schema = {
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Row"}}
                            }
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Row": {
                    "type": "object",
                    "properties": {"rank": {"type": "integer"}},
                    "required": ["rank"],
                }
            }
        },
    }
    contract = Contract(schema)
    good = httpx.Response(200, json={"rank": 1})
    assert contract.check("get", "/x", good) == {"rank": 1}
    with pytest.raises(AssertionError):
        contract.check("get", "/x", httpx.Response(200, json={"rank": "1"}))
    with pytest.raises(AssertionError):
        contract.check("get", "/x", httpx.Response(404, json={}))
