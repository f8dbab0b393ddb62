"""A small client for API voters: seal a whole sheet on the voter's machine, submit it,
and later check its receipt against the round's published Merkle root.

Usage (docs/ballots.md "Python client")::

    from evalsvc.voting_client import VotingClient
    client = VotingClient("https://evalsvc.example", "bv_...")
    pending = client.pending()          # round, forms, colleagues still to ballot
    receipt = client.submit({"H": {"marks": {"C1": "observed"}, "level": "HT"}})
    ...                                 # after the committee closes the round:
    assert client.check_receipt(receipt)

Only the standard library, PyNaCl (through ``evalsvc.sealing``) and nothing of the service:
the marks never leave this process unsealed.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

import msgspec

from evalsvc.domain.ballots import PaperBallot, Sheet
from evalsvc.sealing import boxes, receipts

_MARK_CHARS = {"observed": "1", "not_observed": "0", "no_basis": "x"}


def sheet_ballot(form_codes: list[str], target: str, answer: dict[str, Any]) -> PaperBallot:
    """One ballot in the sealed layout: ``answer`` as the API takes it (marks by item code,
    level, confidence, comment); items left out are "not observed"."""
    marks = answer.get("marks", {})
    unknown = set(marks) - set(form_codes)
    if unknown:
        raise ValueError(f"{target}: items not on this form: {', '.join(sorted(unknown))}")
    return PaperBallot(
        target=target,
        marks="".join(_MARK_CHARS[marks.get(code, "not_observed")] for code in form_codes),
        level=answer.get("level") or "",
        confidence=answer.get("confidence") or "",
        comment=answer.get("comment") or "",
    )


def seal_sheet(
    pending: dict[str, Any], answers: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], bytes]:
    """The request body of ``POST /ballot/sealed-sheets`` and the receipt it will get.

    Args:
        pending: the answer of ``GET /ballot/targets``.
        answers: target code -> that colleague's answer.
    """
    forms = {form: [i["code"] for i in items] for form, items in pending["forms"].items()}
    form_of = {t["code"]: t["form"] for t in pending["targets"]}
    missing = set(answers) - set(form_of)
    if missing:
        raise ValueError(f"not on your pending list: {', '.join(sorted(missing))}")
    sheet = Sheet(
        round=pending["round"]["id"],
        ballots=[sheet_ballot(forms[form_of[t]], t, a) for t, a in answers.items()],
    )
    sealed = boxes.seal(base64.b64decode(pending["public_key"]), msgspec.json.encode(sheet))
    body = {"targets": list(answers), "sealed": base64.b64encode(sealed).decode()}
    return body, receipts.receipt(sealed)


def proof_checks(answer: dict[str, Any], receipt: bytes) -> bool:
    """Whether the answer of ``GET /ballot-rounds/{id}/receipts/{receipt}`` proves it."""
    steps = [receipts.Step(s["side"], bytes.fromhex(s["hash"])) for s in answer["proof"]]
    return answer["receipt"] == receipt.hex() and receipts.verify(
        receipt, steps, bytes.fromhex(answer["root"])
    )


class VotingClient:
    """The voter's side over HTTP (urllib; the token goes only to this service)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._round_id: int | None = None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def pending(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", "/ballot/targets")
        self._round_id = answer["round"]["id"]
        return answer

    def submit(self, answers: dict[str, dict[str, Any]]) -> bytes:
        """Seal and submit one sheet; returns its receipt (keep it)."""
        body, receipt = seal_sheet(self.pending(), answers)
        answer = self._call("POST", "/ballot/sealed-sheets", body)
        if answer["receipt"] != receipt.hex():
            raise RuntimeError("the service answered another receipt than the sheet's hash")
        return receipt

    def check_receipt(self, receipt: bytes) -> bool:
        """After close: is the receipt among the counted sheets, under the published root?"""
        answer = self._call("GET", f"/ballot-rounds/{self._round_id}/receipts/{receipt.hex()}")
        return proof_checks(answer, receipt)
