"""HTTP routes of consent, telemetry tokens and the keys that verify them."""

from __future__ import annotations

from contracts.consent import ConsentChange, ConsentState, JsonWebKeySet, TelemetryToken
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK
from service_common.auth.actor import CurrentActor
from service_common.errors import problem_responses

from core_api.dependencies import Consent
from core_api.paging import IdPath
from core_api.routing import PARTICIPANTS, read
from core_api.telemetry_tokens import TelemetryTokenIssuer


class ConsentController(Controller):
    path = "/v1"
    tags = ["consent"]
    guards = [PARTICIPANTS]

    @read("/patients/{patient_id:int}/consent", "GetPatientConsent")
    async def get_consent(self, actor: CurrentActor, consent: Consent, patient_id: IdPath) -> ConsentState:
        """The patient's analytics level and biometric consent now, whether pose tracking is allowed, and the
        history of changes, newest first."""
        return await consent.get(actor, patient_id)

    @post(
        "/patients/{patient_id:int}/consent",
        operation_id="ChangePatientConsent",
        status_code=HTTP_200_OK,
        responses=problem_responses(401, 403, 404, 422),
    )
    async def change_consent(
        self, actor: CurrentActor, consent: Consent, patient_id: IdPath, data: JSONBody[ConsentChange]
    ) -> ConsentState:
        """Grant or revoke: a patient their own consent; staff a patient's decision, with the submitted
        consent form as evidence. Telemetry tokens issued afterwards carry the new consent."""
        return await consent.change(actor, patient_id, data)

    @post(
        "/telemetry/token",
        operation_id="IssueTelemetryToken",
        status_code=HTTP_200_OK,
        responses=problem_responses(401, 403, 404, 503),
    )
    async def issue(self, actor: CurrentActor, consent: Consent) -> TelemetryToken:
        """A token for the telemetry service (at most 10 minutes): keyed hashes of the caller and the
        organization, and for a patient the consent in force now. No name, email or raw id."""
        return await consent.telemetry_token(actor)


@get(
    "/.well-known/jwks.json",
    operation_id="GetTelemetryTokenKeys",
    tags=["consent"],
    summary="Public keys of telemetry tokens",
    responses=problem_responses(503),
    cache=60,
)
async def jwks(state: State) -> JsonWebKeySet:
    """The Ed25519 keys telemetry tokens are signed with: the current one and, during a rotation, the
    previous one. Public; the telemetry service fetches and caches it."""
    issuer: TelemetryTokenIssuer = state.telemetry_tokens
    return issuer.jwks()
