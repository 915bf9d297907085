"""Schemathesis against /api/v1/openapi.json (minutes/openapi.json, the file the app serves:
test_api_minutes checks the two are the same and name the same routes): every operation gets
requests made from its schema (valid and invalid ones: the coverage phase's boundary values,
then fuzzing), sent to the app through Schemathesis's WSGI transport and the suite's Flask
test client, with the X-API-Key of a facilitator.

Each answer must be no server error, have a status code and content type the file documents,
and a body that matches the documented schema. The seed is fixed and the number of examples
bounded, so a run is repeatable and takes a few seconds per operation.

The database is wiped once per operation (one test each), not per example: examples create
and delete meetings and items, so an example may meet what an earlier one left behind, as
a client of a running server would.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from accounts import services as accounts
from core.extensions import db
from minutes.api import OPENAPI

SEED = 20261203
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"mode": "all", "max-examples": 100, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


schema = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)


@pytest.fixture
def api_key(make_user, make_project, make_meeting, make_item):
    """A facilitator's key, and minutes to act on. Ids start at 1 in every test, so the small
    ids the fuzzer tries first name these: project 1 (the fiscal year), unit 2, meetings 1–2,
    items 1–4 (goal, result, homework, preview)."""
    facilitator = make_user(login="suzuki", name="鈴木 一郎")
    unit = make_project(members={facilitator: "facilitator"}).units[0]
    meeting = make_meeting(unit=unit, actor=facilitator, attendees=[facilitator])
    make_meeting(unit=unit, actor=facilitator)
    goal = make_item(meeting, "goal", "住基の改修範囲を決める", actor=facilitator)
    make_item(meeting, "result", "帳票は現行どおり", actor=facilitator, parent=goal)
    make_item(meeting, "homework", who=facilitator, what="見積を出す", actor=facilitator)
    make_item(meeting, "preview", "次回: 移行計画", actor=facilitator)
    token = accounts.api_token(facilitator)
    db.session.commit()
    return {"X-API-Key": token}


@schema.parametrize()
@settings(
    deadline=None,
    derandomize=True,
    max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_v1_answers_every_request_as_documented(case, app, client, api_key):
    case.call_and_validate(app=app, session=client, headers=api_key, checks=CHECKS)
    db.session.rollback()  # the next example reads what this one committed
