"""The organization's adherence settings: the threshold below which an enrollment is flagged and alerts,
and the two thresholds that decide a `contradicted` session (verified adherence, docs/adherence.md)."""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.types import WholePercent

EvidenceMinWatchPercent = Annotated[
    int,
    Meta(
        ge=0,
        le=100,
        description=(
            "Verified adherence: an exercise log that reports its video watched is `contradicted` when the "
            "player measured less than this share of it, 0-100."
        ),
    ),
]
EvidenceRepTolerance = Annotated[
    int,
    Meta(
        ge=0,
        le=1000,
        description=(
            "Verified adherence: an exercise log is `contradicted` when its reported repetitions differ from "
            "those the pose tracker counted by more than this, 0-1000."
        ),
    ),
]


class OrganizationSettingsUpdate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /v1/organizations/current/settings``: an enrollment is below threshold (and alerts) when its
    adherence % is strictly below this; the evidence thresholds, when given, decide `contradicted`
    sessions (omitted: unchanged)."""

    adherence_threshold_percent: Annotated[
        Annotated[int, Meta(ge=1, le=100)],
        Meta(
            description=(
                "Adherence threshold in percent, 1-100: an enrollment whose adherence % is strictly "
                "below it is flagged and alerts."
            )
        ),
    ]
    evidence_min_watch_percent: Annotated[
        EvidenceMinWatchPercent | None,
        Meta(
            description=(
                "The least share of a video, 0-100 percent, the player must measure for a log reporting it "
                "watched not to be `contradicted`; unchanged when omitted."
            )
        ),
    ] = None
    evidence_rep_tolerance: Annotated[
        EvidenceRepTolerance | None,
        Meta(
            description=(
                "The difference between reported and counted repetitions, 0-1000, beyond which a log is "
                "`contradicted`; unchanged when omitted."
            )
        ),
    ] = None


OrganizationSettingsUpdateBody = Annotated[
    OrganizationSettingsUpdate,
    Meta(
        examples=[
            {"adherence_threshold_percent": 70},
            {"adherence_threshold_percent": 70, "evidence_min_watch_percent": 60, "evidence_rep_tolerance": 2},
        ]
    ),
]


class OrganizationSettings(msgspec.Struct, frozen=True):
    """The organization's adherence settings."""

    adherence_threshold_percent: Annotated[
        WholePercent,
        Meta(
            description=(
                "Adherence threshold in percent: an enrollment whose adherence % is strictly below it is flagged."
            )
        ),
    ]
    evidence_min_watch_percent: EvidenceMinWatchPercent
    evidence_rep_tolerance: EvidenceRepTolerance
