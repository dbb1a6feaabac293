"""The enrollment lifecycle: which status may follow which, and who may make the move.

Pure rules, no I/O: the service asks :func:`check_transition` before it writes, and the property tests
drive random sequences through it.

======================  ===========================================  =================================
from                    to                                           how
======================  ===========================================  =================================
pending_approval        active                                       approve only
pending_approval        cancelled                                    status change
active                  paused, completed, cancelled, expired        status change (expired: also the
                                                                     expiry job and lazy expiry)
paused                  active, cancelled, expired                   status change (expired: as above)
completed, cancelled,   nothing                                      final
expired
======================  ===========================================  =================================

A patient may only pause their own active enrollment and resume it (active ↔ paused); staff may make
every move of the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from contracts.enrollments import EnrollmentStatus

S = EnrollmentStatus

TRANSITIONS: Mapping[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    S.PENDING_APPROVAL: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.PAUSED, S.COMPLETED, S.CANCELLED, S.EXPIRED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELLED, S.EXPIRED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
FINAL_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
# Statuses the expiry job moves to expired once end_date has passed.
EXPIRABLE_STATUSES = frozenset(status for status, targets in TRANSITIONS.items() if S.EXPIRED in targets)
# The one move that is not a plain status change: it goes through the approve route.
APPROVAL = (S.PENDING_APPROVAL, S.ACTIVE)
PATIENT_MOVES = frozenset({(S.ACTIVE, S.PAUSED), (S.PAUSED, S.ACTIVE)})


class Action(StrEnum):
    """How a transition is asked for."""

    APPROVE = "approve"
    STATUS_CHANGE = "status_change"


class IllegalTransition(Exception):
    """``current`` may not move to ``target`` by ``action``; ``allowed`` lists the status changes open
    from ``current`` instead."""

    def __init__(
        self, current: EnrollmentStatus, target: EnrollmentStatus, allowed: list[EnrollmentStatus], why: str
    ) -> None:
        super().__init__(why)
        self.current = current
        self.target = target
        self.allowed = allowed
        self.why = why


class TransitionNotPermitted(Exception):
    """The move is legal, but not for the caller's role."""


def allowed_targets(current: EnrollmentStatus, action: Action) -> list[EnrollmentStatus]:
    """The statuses ``current`` may move to by ``action``, in the enum's order."""
    targets = TRANSITIONS[current]
    if action is Action.APPROVE:
        permitted = targets & {S.ACTIVE} if current == S.PENDING_APPROVAL else frozenset()
    else:
        permitted = targets - ({S.ACTIVE} if current == S.PENDING_APPROVAL else set())
    return [status for status in EnrollmentStatus if status in permitted]


def check_transition(
    current: EnrollmentStatus, target: EnrollmentStatus, action: Action, *, patient: bool = False
) -> None:
    """Return when ``current`` → ``target`` by ``action`` is allowed (for a patient, when ``patient``).

    Raises :class:`IllegalTransition` when the table forbids the move (naming the allowed ones) and
    :class:`TransitionNotPermitted` when the move is legal but a patient may not make it.
    """
    allowed = allowed_targets(current, action)
    if target not in allowed:
        if current in FINAL_STATUSES:
            why = f"the enrollment is {current}, a final status"
        elif (current, target) == APPROVAL:
            why = "a pending enrollment becomes active only by approval (POST .../approve)"
        elif action is Action.APPROVE:
            why = f"only a pending_approval enrollment can be approved; this one is {current}"
        else:
            why = f"an enrollment cannot move from {current} to {target}"
        # The problem lists what the caller can do instead: the status changes open from here.
        instead = allowed if action is Action.STATUS_CHANGE else allowed_targets(current, Action.STATUS_CHANGE)
        raise IllegalTransition(current, target, instead, why)
    if patient and (current, target) not in PATIENT_MOVES:
        raise TransitionNotPermitted("a patient may only pause an active enrollment or resume a paused one")
