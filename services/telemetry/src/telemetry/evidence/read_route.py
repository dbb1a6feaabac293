"""``POST /v1/session-evidence``: what telemetry measured for a batch of exercise sessions, for core-api.

core-api's evidence collection calls it with a ``service`` token it signs (docs/adherence.md, "Verified
adherence"); the organization comes from the token, so a call reads only that organization's rows. Patient
and staff tokens are refused (403): the route answers for any patient of the organization by actor hash.
"""

from __future__ import annotations

from contracts.session_evidence import EvidenceQuery, EvidenceSessionKey, SessionEvidenceList
from litestar import Controller, post
from litestar.exceptions import ValidationException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses

from telemetry.dependencies import CurrentActor, Store
from telemetry.evidence.figures import session_evidence
from telemetry.identity import only_role

require_core_api = only_role("service", "Only core-api may read session evidence.")
"""A guard refusing (403) every token but core-api's ``service`` tokens."""


def refuse_repeated_sessions(query: EvidenceQuery) -> None:
    """A 422 naming each ``sessions[i]`` that repeats an earlier entry (at most five)."""
    first: dict[EvidenceSessionKey, int] = {}
    errors = []
    for index, session in enumerate(query.sessions):
        seen = first.setdefault(session, index)
        if seen != index:
            errors.append({"message": f"the same session as sessions[{seen}]", "key": f"sessions[{index}]"})
    if errors:
        raise ValidationException(detail="The request body did not validate.", extra=errors[:5])


class SessionEvidenceController(Controller):
    path = "/v1/session-evidence"
    tags = ["evidence"]
    security = bearer_security()
    guards = [require_core_api]

    @post(
        operation_id="GetSessionEvidence",
        status_code=HTTP_200_OK,
        responses=problem_responses(401, 403, 422, 503),
    )
    async def evidence(self, actor: CurrentActor, store: Store, data: JSONBody[EvidenceQuery]) -> SessionEvidenceList:
        """The measured media and pose figures of each requested session, in the request's order, read in
        one ClickHouse query: only the rows the session's own actor sent in the caller's organization count,
        and a part is null when none of that kind arrived (core-api only). Each session at most once."""
        refuse_repeated_sessions(data)
        return SessionEvidenceList(sessions=await session_evidence(store, actor.org_hash, data.sessions))
