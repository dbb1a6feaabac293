"""Treatment plan bodies: the spec's JSON decodes as written, and writes reject server-owned fields."""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import pytest
from contracts.plan_details import TreatmentPlanDetail, TreatmentPlanList
from contracts.plans import (
    Difficulty,
    ExerciseMode,
    PlanScope,
    PlanStatus,
    PlanType,
    PlanVisibility,
    TreatmentPlanCreate,
    TreatmentPlanCreateBody,
    TreatmentPlanUpdate,
)

from tests.contracts.helpers.examples import example_of

PLAN_ID = "550e8400-e29b-41d4-a716-446655440000"
QUAD_SET_ID = "660e8400-e29b-41d4-a716-446655440001"
PRONE_HANG_ID = "770e8400-e29b-41d4-a716-446655440002"

# From "List Treatment Plans".
LIST_RESPONSE = b"""
{
  "treatment_plans": [
    {
      "id": "550e8400-e29b-41d4-a716-446655440000",
      "name": "Post-ACL Rehab Weeks 1-4",
      "description": "Progressive rehabilitation program for ACL reconstruction recovery",
      "type": "telerehab",
      "scope": "org",
      "visibility": "library",
      "condition_tags": ["post_acl", "knee_rehab"],
      "created_from_id": null,
      "created_for_patient_id": null,
      "frequency_per_week": 3,
      "duration_weeks": 4,
      "total_sessions": 12,
      "specialist": {
        "id": 5,
        "name": "Dr. Maria Kent"
      },
      "specialty": {
        "id": 1,
        "name": "Physiotherapy"
      },
      "requires_approval": true,
      "post_session_form_template_id": 42,
      "service_plan_id": null,
      "status": "active",
      "version": 2,
      "published": true,
      "sessions_count": 3,
      "created_at": "2026-02-01T10:00:00Z",
      "updated_at": "2026-02-14T15:30:00Z"
    }
  ],
  "total": 8,
  "page": 1,
  "limit": 25,
  "total_pages": 1
}
"""

# From "Get Treatment Plan Details", with the elided exercise ids completed.
DETAIL_RESPONSE = b"""
{
  "id": "550e8400-e29b-41d4-a716-446655440000",
  "name": "Post-ACL Rehab Weeks 1-4",
  "description": "Progressive rehabilitation program...",
  "type": "telerehab",
  "frequency_per_week": 3,
  "duration_weeks": 4,
  "total_sessions": 12,
  "specialist": {
    "id": 5,
    "name": "Dr. Maria Kent"
  },
  "specialty": {
    "id": 1,
    "name": "Physiotherapy"
  },
  "requires_approval": true,
  "post_session_form_template": {
    "id": 42,
    "title": "Pain & Mobility Questionnaire"
  },
  "service_plan": null,
  "status": "active",
  "version": 2,
  "published": true,
  "sessions": [
    {
      "id": 1,
      "session_number": 1,
      "name": "Mobility Focus",
      "description": "Gentle mobility exercises to restore range of motion",
      "estimated_duration_minutes": 25,
      "exercises": [
        {
          "id": 10,
          "exercise_id": "QUAD_SET_ID",
          "sort_order": 0,
          "exercise": {
            "id": "QUAD_SET_ID",
            "name": "Quad Set",
            "video_thumbnail_url": "https://...",
            "difficulty": "beginner"
          },
          "mode": "reps",
          "sets": 3,
          "reps": 10,
          "hold_seconds": null,
          "duration_seconds": null,
          "rest_between_sets_seconds": 30,
          "rest_after_exercise_seconds": 60,
          "notes": "Focus on controlled contraction"
        },
        {
          "id": 11,
          "exercise_id": "PRONE_HANG_ID",
          "sort_order": 1,
          "exercise": {
            "id": "PRONE_HANG_ID",
            "name": "Prone Hang",
            "video_thumbnail_url": "https://...",
            "difficulty": "beginner"
          },
          "mode": "duration",
          "sets": 2,
          "reps": null,
          "hold_seconds": 60,
          "duration_seconds": 60,
          "rest_between_sets_seconds": 45,
          "rest_after_exercise_seconds": 60,
          "notes": "Let gravity extend the knee"
        }
      ]
    },
    {
      "id": 2,
      "session_number": 2,
      "name": "Strengthening Focus",
      "description": "Progressive strengthening exercises",
      "estimated_duration_minutes": 30,
      "exercises": []
    }
  ],
  "created_by_user_id": 1,
  "created_at": "2026-02-01T10:00:00Z",
  "updated_at": "2026-02-14T15:30:00Z"
}
""".replace(b"QUAD_SET_ID", QUAD_SET_ID.encode()).replace(b"PRONE_HANG_ID", PRONE_HANG_ID.encode())

# The spec's "Create Treatment Plan" sample, which the contract states as the body's example.
CREATE_REQUEST: dict[str, Any] = example_of(TreatmentPlanCreateBody)


def decode_create(body: dict[str, Any]) -> TreatmentPlanCreate:
    return msgspec.json.decode(json.dumps(body).encode(), type=TreatmentPlanCreate)


def test_list_response_decodes() -> None:
    page = msgspec.json.decode(LIST_RESPONSE, type=TreatmentPlanList)

    assert (page.total, page.page, page.limit, page.total_pages) == (8, 1, 25, 1)
    [plan] = page.treatment_plans
    assert plan.id == UUID(PLAN_ID)
    assert plan.type is PlanType.TELEREHAB
    assert plan.scope is PlanScope.ORG
    assert plan.visibility is PlanVisibility.LIBRARY
    assert plan.status is PlanStatus.ACTIVE
    assert plan.condition_tags == ["post_acl", "knee_rehab"]
    assert plan.created_from_id is None
    assert plan.specialist is not None
    assert plan.specialist.name == "Dr. Maria Kent"
    assert plan.updated_at == datetime(2026, 2, 14, 15, 30, tzinfo=UTC)


def test_list_response_round_trips() -> None:
    page = msgspec.json.decode(LIST_RESPONSE, type=TreatmentPlanList)
    assert json.loads(msgspec.json.encode(page)) == json.loads(LIST_RESPONSE)


def test_detail_response_decodes() -> None:
    plan = msgspec.json.decode(DETAIL_RESPONSE, type=TreatmentPlanDetail)

    assert plan.post_session_form_template is not None
    assert plan.post_session_form_template.title == "Pain & Mobility Questionnaire"
    assert plan.service_plan is None
    assert [session.session_number for session in plan.sessions] == [1, 2]
    quad_set, prone_hang = plan.sessions[0].exercises
    assert quad_set.exercise_id == quad_set.exercise.id == UUID(QUAD_SET_ID)
    assert quad_set.mode is ExerciseMode.REPS
    assert (quad_set.sets, quad_set.reps, quad_set.hold_seconds) == (3, 10, None)
    assert quad_set.exercise.difficulty is Difficulty.BEGINNER
    assert prone_hang.mode is ExerciseMode.DURATION
    assert (prone_hang.reps, prone_hang.hold_seconds, prone_hang.duration_seconds) == (None, 60, 60)
    assert plan.sessions[1].exercises == []


def test_detail_without_ownership_fields_gets_new_plan_defaults() -> None:
    plan = msgspec.json.decode(DETAIL_RESPONSE, type=TreatmentPlanDetail)
    assert (plan.scope, plan.visibility, plan.condition_tags) == (
        PlanScope.ORG,
        PlanVisibility.INTERNAL,
        [],
    )
    assert (plan.created_from_id, plan.created_for_patient_id) == (None, None)


def test_create_request_decodes_with_defaults() -> None:
    create = decode_create(CREATE_REQUEST)

    assert create.name == "Post-ACL Rehab Weeks 1-4"
    assert create.type is PlanType.TELEREHAB
    assert (create.frequency_per_week, create.duration_weeks) == (3, 4)
    assert (create.specialist_id, create.specialty_id) == (5, 1)
    assert create.post_session_form_template_id == 42
    assert create.service_plan_id is None
    assert create.condition_tags == []
    assert create.visibility is PlanVisibility.INTERNAL


def test_create_request_takes_tags_and_visibility() -> None:
    create = decode_create({**CREATE_REQUEST, "condition_tags": ["post_acl"], "visibility": "library"})
    assert create.condition_tags == ["post_acl"]
    assert create.visibility is PlanVisibility.LIBRARY


@pytest.mark.parametrize("field", ["organization_id", "status", "version", "published", "id", "created_by_user_id"])
def test_create_rejects_server_owned_fields(field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=f"unknown field `{field}`"):
        decode_create({**CREATE_REQUEST, field: 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"frequency_per_week": 0}, "Expected `int` >= 1 - at `$.frequency_per_week`"),
        ({"frequency_per_week": 15}, "Expected `int` <= 14 - at `$.frequency_per_week`"),
        ({"duration_weeks": 105}, "Expected `int` <= 104 - at `$.duration_weeks`"),
        ({"type": "home"}, "Invalid enum value 'home' - at `$.type`"),
        ({"visibility": "public"}, "Invalid enum value 'public' - at `$.visibility`"),
        ({"condition_tags": ["Knee Pain"]}, "at `$.condition_tags[0]`"),
        ({"condition_tags": [f"tag_{n}" for n in range(21)]}, "length <= 20 - at `$.condition_tags`"),
        ({"name": ""}, "at `$.name`"),
        ({"specialist_id": 0}, "Expected `int` >= 1 - at `$.specialist_id`"),
    ],
)
def test_create_rejects_invalid_values_at_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        decode_create({**CREATE_REQUEST, **change})
    assert message in str(caught.value)


@pytest.mark.parametrize("missing", ["name", "type", "frequency_per_week", "duration_weeks"])
def test_create_requires_the_plan_shape(missing: str) -> None:
    body = {key: value for key, value in CREATE_REQUEST.items() if key != missing}
    with pytest.raises(msgspec.ValidationError, match=f"missing required field `{missing}`"):
        decode_create(body)


def test_update_keeps_only_the_fields_sent() -> None:
    update = msgspec.json.decode(b'{"duration_weeks": 6, "description": null}', type=TreatmentPlanUpdate)

    assert update.duration_weeks == 6
    assert update.description is None
    assert update.name is msgspec.UNSET
    assert msgspec.to_builtins(update) == {"duration_weeks": 6, "description": None}


def test_update_accepts_the_full_create_body() -> None:
    update = msgspec.json.decode(json.dumps(CREATE_REQUEST).encode(), type=TreatmentPlanUpdate)
    assert msgspec.to_builtins(update) == CREATE_REQUEST


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"organization_id": 7}', "unknown field `organization_id`"),
        (b'{"status": "active"}', "unknown field `status`"),
        (b'{"name": null}', "Expected `str`, got `null` - at `$.name`"),
        (b'{"frequency_per_week": 15}', "Expected `int` <= 14 - at `$.frequency_per_week`"),
    ],
)
def test_update_rejects_bad_input(body: bytes, message: str) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(body, type=TreatmentPlanUpdate)
    assert message in str(caught.value)
