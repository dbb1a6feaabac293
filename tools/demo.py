"""``make demo``: the specification's example clinic, loaded into the running services through their API.

Only the organization and its first admin are written with SQL (as the database superuser: nobody can
create an organization through the API); everything else goes through core-api with tokens signed by the
development key, so a successful load also proves the routes work end to end:

- organization "Demo Clinic" with an admin;
- specialty "Physiotherapy" and specialist "Dr. Maria Kent" (a specialist user);
- form template "Pain & Mobility Questionnaire";
- published exercises Quad Set, Heel Slides, Straight Leg Raise and Prone Hang;
- service plan "Telerehab + Library" and patient "Jane Doe" (Europe/Madrid, a patient user) holding it;
- treatment plan "Post-ACL Rehab Weeks 1-4" with its sessions "Mobility Focus" and "Strengthening Focus",
  published (it requires approval, so it becomes ``pending_approval``).

Every step looks for its record first and creates only what is missing, so a second run changes nothing
and a run that stopped half-way is finished by the next (a plan left as an unpublished draft is
deleted and made again). It prints the ids and ready-to-use tokens for the admin, the specialist and the
patient.

    python -m tools.demo [--api-url http://127.0.0.1:8000] [--database-url SUPERUSER_URL] [--keys DIR]

Start the services first (``make run``); without ``--database-url`` the demo attaches to the local
PostgreSQL under ``.data/postgres`` that ``make run`` uses.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from service_common.auth.actor import Role
from service_common.auth.settings import AuthSettings
from service_common.settings import from_env

from tools.tokens import mint_token

ROOT = Path(__file__).resolve().parent.parent
ORGANIZATION = "Demo Clinic"
PATIENT_TIME_ZONE = "Europe/Madrid"
PLAN_NAME = "Post-ACL Rehab Weeks 1-4"
# Long enough for an afternoon of clicking through the API documentation: as long as core-api accepts by
# default (AUTH_MAX_TOKEN_LIFETIME_SECONDS).
TOKEN_TTL_SECONDS = AuthSettings().max_token_lifetime_seconds
# Keeps two demo loads started at once from creating two organizations.
_LOCK_KEY = 0x64656D6F

Item = dict[str, Any]

EXERCISES: list[Item] = [
    {
        "name": "Quad Set",
        "description": "Isometric tightening of the quadriceps with the leg straight.",
        "instructions": "Sit with the leg straight, press the back of the knee into the floor, hold, relax.",
        "difficulty": "beginner",
        "estimated_duration_seconds": 45,
    },
    {
        "name": "Heel Slides",
        "description": "Active knee flexion sliding the heel towards the buttock.",
        "instructions": "Lie on your back and slide the heel towards you as far as comfortable, then back.",
        "difficulty": "beginner",
        "estimated_duration_seconds": 60,
    },
    {
        "name": "Straight Leg Raise",
        "description": "Hip flexion with a locked knee to strengthen the quadriceps.",
        "instructions": "Tighten the thigh, lift the straight leg to the height of the other knee, lower slowly.",
        "difficulty": "intermediate",
        "estimated_duration_seconds": 60,
    },
    {
        "name": "Prone Hang",
        "description": "Passive knee extension lying face down with the lower leg off the bed.",
        "instructions": "Lie face down with the knee just past the edge of the bed and let the leg hang.",
        "difficulty": "beginner",
        "estimated_duration_seconds": 120,
    },
]

# The plan's sessions and, for each, (exercise name, prescription) in order.
SESSIONS: list[tuple[Item, list[tuple[str, Item]]]] = [
    (
        {
            "session_number": 1,
            "name": "Mobility Focus",
            "description": "Gentle mobility exercises to restore range of motion",
            "estimated_duration_minutes": 25,
        },
        [
            (
                "Quad Set",
                {
                    "mode": "reps",
                    "sets": 3,
                    "reps": 10,
                    "rest_between_sets_seconds": 30,
                    "rest_after_exercise_seconds": 60,
                    "notes": "Focus on controlled contraction",
                },
            ),
            (
                "Prone Hang",
                {
                    "mode": "duration",
                    "sets": 2,
                    "hold_seconds": 60,
                    "duration_seconds": 60,
                    "rest_between_sets_seconds": 45,
                    "rest_after_exercise_seconds": 60,
                    "notes": "Let gravity extend the knee",
                },
            ),
        ],
    ),
    (
        {
            "session_number": 2,
            "name": "Strengthening Focus",
            "description": "Progressive strengthening exercises",
            "estimated_duration_minutes": 30,
        },
        [
            (
                "Heel Slides",
                {
                    "mode": "reps",
                    "sets": 3,
                    "reps": 15,
                    "rest_between_sets_seconds": 30,
                    "rest_after_exercise_seconds": 60,
                    "notes": "Slide slowly to a comfortable bend",
                },
            ),
            (
                "Straight Leg Raise",
                {
                    "mode": "reps",
                    "sets": 3,
                    "reps": 10,
                    "rest_between_sets_seconds": 45,
                    "rest_after_exercise_seconds": 60,
                    "notes": "Keep the knee locked straight",
                },
            ),
        ],
    ),
]

FORM_SCHEMA: Item = {
    "questions": [
        {"id": "pain_level", "type": "scale", "prompt": "Pain right now", "min": 0, "max": 10},
        {
            "id": "knee_bend",
            "type": "choice",
            "prompt": "Knee bend compared with last session",
            "options": ["worse", "same", "better"],
        },
        {"id": "comments", "type": "text", "prompt": "Anything else?", "required": False},
    ]
}


class DemoError(RuntimeError):
    """The API refused a step of the load; the message says which and why."""


@dataclass
class Demo:
    """What the demo clinic consists of, and which of it this run created (empty on a repeat run)."""

    organization_id: int
    admin_user_id: int
    specialist_user_id: int
    specialist_id: int
    patient_user_id: int
    patient_id: int
    plan_id: str
    created: list[str] = field(default_factory=list)

    def tokens(self, keys: Path, ttl_seconds: int = TOKEN_TTL_SECONDS) -> dict[str, str]:
        """Bearer tokens of the admin, the specialist and the patient, signed with the key in ``keys``."""

        def token(user_id: int, role: Role, patient_id: int | None = None) -> str:
            return mint_token(
                keys,
                user_id=user_id,
                role=role,
                organization_id=self.organization_id,
                patient_id=patient_id,
                ttl_seconds=ttl_seconds,
            )

        return {
            "admin": token(self.admin_user_id, "admin"),
            "specialist": token(self.specialist_user_id, "specialist"),
            "patient": token(self.patient_user_id, "patient", self.patient_id),
        }


def _organization_and_admin(superuser_url: str, created: list[str]) -> tuple[int, int]:
    """The demo organization and its admin user, created with SQL when missing."""
    with psycopg.connect(superuser_url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        row = conn.execute(
            "SELECT id FROM organizations WHERE name = %s AND deleted_at IS NULL ORDER BY id LIMIT 1",
            (ORGANIZATION,),
        ).fetchone()
        if row is None:
            row = conn.execute(
                "INSERT INTO organizations (name, time_zone) VALUES (%s, %s) RETURNING id",
                (ORGANIZATION, PATIENT_TIME_ZONE),
            ).fetchone()
            created.append(f"organization {ORGANIZATION!r}")
        assert row is not None
        organization_id = int(row[0])
        row = conn.execute(
            "SELECT id FROM users WHERE organization_id = %s AND role = 'admin' AND deleted_at IS NULL "
            "ORDER BY id LIMIT 1",
            (organization_id,),
        ).fetchone()
        if row is None:
            row = conn.execute(
                "INSERT INTO users (organization_id, role, display_name, email) "
                "VALUES (%s, 'admin', 'Demo Admin', 'admin@demo-clinic.example') RETURNING id",
                (organization_id,),
            ).fetchone()
            created.append("admin user 'Demo Admin'")
        assert row is not None
        return organization_id, int(row[0])


class _Api:
    """core-api as one actor sees it, with find-or-create helpers."""

    def __init__(self, client: httpx.Client, token: str, created: list[str]) -> None:
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}"}
        self._created = created

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = self._client.request(method, path, headers=self._headers, **kwargs)
        if response.status_code != expect:
            raise DemoError(f"{method} {path} answered {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def find(self, path: str, plural: str, match: Callable[[Item], bool], **params: Any) -> Item | None:
        """The first item of the list at ``path`` that ``match`` accepts, looking through every page."""
        page = 1
        while True:
            body = self.call("GET", path, params={**params, "page": page, "limit": 100})
            found = next((item for item in body[plural] if match(item)), None)
            if found is not None or page >= body["total_pages"]:
                return found
            page += 1

    def create(self, path: str, body: Item, what: str) -> Item:
        item: Item = self.call("POST", path, json=body, expect=201)
        self.note(what)
        return item

    def create_with_user(self, path: str, role: Role, email: str, body: Item) -> Item:
        """Create the user of ``role`` an item at ``path`` belongs to, then the item from ``body`` (its
        ``name`` the user's display name) with that user's id."""
        name = body["name"]
        user = self.create("/v1/users", {"role": role, "display_name": name, "email": email}, f"{role} user {name!r}")
        return self.create(path, {**body, "user_id": user["id"]}, f"{role} {name!r}")

    def note(self, what: str) -> None:
        """Record that this run created ``what``."""
        self._created.append(what)

    def ensure(self, path: str, plural: str, key: str, body: Item, what: str) -> Item:
        """The organization's own item whose ``key`` equals the body's, created from ``body`` if missing."""
        found = self.find(path, plural, lambda item: item[key] == body[key] and not item.get("global", False))
        return found if found is not None else self.create(path, body, f"{what} {body[key]!r}")


def load_demo(api_url: str, superuser_url: str, keys: Path) -> Demo:
    """Load the demo clinic through core-api at ``api_url`` (its organization and admin through
    ``superuser_url``), creating only what is missing; tokens are signed with the key in ``keys``."""
    created: list[str] = []
    organization_id, admin_user_id = _organization_and_admin(superuser_url, created)

    def token(user_id: int, role: Role) -> str:
        return mint_token(keys, user_id=user_id, role=role, organization_id=organization_id, ttl_seconds=600)

    with httpx.Client(base_url=api_url, timeout=30.0) as client:
        admin = _Api(client, token(admin_user_id, "admin"), created)
        specialty = admin.ensure("/v1/specialties", "specialties", "name", {"name": "Physiotherapy"}, "specialty")
        specialist = admin.find("/v1/specialists", "specialists", lambda s: s["name"] == "Dr. Maria Kent")
        if specialist is None:
            specialist = admin.create_with_user(
                "/v1/specialists",
                "specialist",
                "maria.kent@demo-clinic.example",
                {"name": "Dr. Maria Kent", "specialty_id": specialty["id"]},
            )
        form = admin.ensure(
            "/v1/form-templates",
            "form_templates",
            "title",
            {"title": "Pain & Mobility Questionnaire", "kind": "post_session", "schema": FORM_SCHEMA},
            "form template",
        )
        exercises = {
            body["name"]: admin.ensure(
                "/v1/exercises",
                "exercises",
                "name",
                body
                | {
                    "video_url": f"https://media.demo-clinic.example/{_slug(body['name'])}.mp4",
                    "video_thumbnail_url": f"https://media.demo-clinic.example/{_slug(body['name'])}.jpg",
                    "published": True,
                },
                "exercise",
            )
            for body in EXERCISES
        }
        service_plan = admin.ensure(
            "/v1/service-plans",
            "service_plans",
            "name",
            {"name": "Telerehab + Library", "telerehab_access": True, "library_access": True},
            "service plan",
        )
        patient = admin.find("/v1/patients", "patients", lambda p: p["name"] == "Jane Doe", q="Jane Doe")
        if patient is None:
            patient = admin.create_with_user(
                "/v1/patients",
                "patient",
                "jane.doe@example.com",
                {
                    "name": "Jane Doe",
                    "email": "jane.doe@example.com",
                    "date_of_birth": "1991-04-12",
                    "time_zone": PATIENT_TIME_ZONE,
                },
            )
        held = f"/v1/patients/{patient['id']}/service-plans"
        if admin.find(held, "patient_service_plans", lambda h: h["service_plan"]["id"] == service_plan["id"]) is None:
            today = datetime.now(ZoneInfo(PATIENT_TIME_ZONE)).date()
            admin.create(
                held,
                {"service_plan_id": service_plan["id"], "starts_on": today.isoformat()},
                "Jane Doe's service plan",
            )

        author = _Api(client, token(specialist["user_id"], "specialist"), created)
        plan = _ensure_plan(author, specialist["id"], specialty["id"], form["id"], exercises)
    return Demo(
        organization_id=organization_id,
        admin_user_id=admin_user_id,
        specialist_user_id=specialist["user_id"],
        specialist_id=specialist["id"],
        patient_user_id=patient["user_id"],
        patient_id=patient["id"],
        plan_id=plan["id"],
        created=created,
    )


def _ensure_plan(author: _Api, specialist_id: int, specialty_id: int, form_id: int, exercises: dict[str, Item]) -> Item:
    """The published demo plan; a draft left by an interrupted run is deleted and made again."""
    plan = author.find("/v1/treatment-plans", "treatment_plans", lambda p: p["name"] == PLAN_NAME, scope="org")
    if plan is not None and plan["published"]:
        return plan
    if plan is not None:
        author.call("DELETE", f"/v1/treatment-plans/{plan['id']}", expect=204)
    plan = author.create(
        "/v1/treatment-plans",
        {
            "name": PLAN_NAME,
            "description": "Progressive rehabilitation program for ACL reconstruction recovery",
            "type": "telerehab",
            "frequency_per_week": 3,
            "duration_weeks": 4,
            "specialist_id": specialist_id,
            "specialty_id": specialty_id,
            "requires_approval": True,
            "post_session_form_template_id": form_id,
            "service_plan_id": None,
            "condition_tags": ["post_acl", "knee_rehab"],
        },
        f"treatment plan {PLAN_NAME!r}",
    )
    for session_body, prescriptions in SESSIONS:
        session = author.create(
            f"/v1/treatment-plans/{plan['id']}/sessions", session_body, f"session {session_body['name']!r}"
        )
        for sort_order, (name, prescription) in enumerate(prescriptions):
            author.create(
                f"/v1/treatment-plan-sessions/{session['id']}/exercises",
                {"exercise_id": exercises[name]["id"], "sort_order": sort_order} | prescription,
                f"{session_body['name']!r} exercise {name!r}",
            )
    published = author.call("POST", f"/v1/treatment-plans/{plan['id']}/publish")
    author.note(f"published version {published['version']} ({published['status']})")
    return plan


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _report(demo: Demo, keys: Path, api_url: str) -> None:
    if demo.created:
        print("Created:")
        for what in demo.created:
            print(f"  {what}")
    else:
        print(f"{ORGANIZATION!r} was already loaded; nothing created.")
    print(
        f"\n{ORGANIZATION}: organization {demo.organization_id}\n"
        f"  admin user            {demo.admin_user_id}\n"
        f"  Dr. Maria Kent        specialist {demo.specialist_id}, user {demo.specialist_user_id}\n"
        f"  Jane Doe              patient {demo.patient_id}, user {demo.patient_user_id}\n"
        f"  {PLAN_NAME}  {api_url}/v1/treatment-plans/{demo.plan_id}\n"
        f"\nTokens (valid {TOKEN_TTL_SECONDS // 3600} hours; send as `Authorization: Bearer <token>`):"
    )
    for role, token in demo.tokens(keys).items():
        print(f"  {role}: {token}")


def main() -> None:
    settings = from_env(AuthSettings, "AUTH_")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    port = os.environ.get("CORE_API_PORT", "8000")
    parser.add_argument("--api-url", default=f"http://127.0.0.1:{port}", help="core-api's base URL")
    parser.add_argument(
        "--database-url",
        help="a superuser URL of core-api's database (default: the local PostgreSQL under .data/postgres)",
    )
    parser.add_argument("--keys", type=Path, default=Path(settings.jwks_file).parent, help="development key folder")
    args = parser.parse_args()
    try:
        httpx.get(f"{args.api_url}/readyz", timeout=5.0).raise_for_status()
    except httpx.HTTPError as exc:
        raise SystemExit(f"core-api does not answer at {args.api_url} ({exc}); start it with `make run`") from None
    superuser_url = args.database_url
    if superuser_url is None:
        from tools.databases import start_local_postgres

        # Attaches to the server `make run` started; keep the handle until the load is done.
        _server, urls = start_local_postgres(ROOT / ".data" / "postgres")
        superuser_url = urls.superuser
    try:
        demo = load_demo(args.api_url, superuser_url, args.keys)
    except DemoError as exc:
        raise SystemExit(f"loading the demo failed: {exc}") from None
    _report(demo, args.keys, args.api_url)


if __name__ == "__main__":
    main()
