"""The rules of automation configuration: what a valid rule is, and who sees deliveries.

Only an organization's admins configure rules and read deliveries; row-level security keeps both inside
the organization, so another organization's rule or delivery is a 404. A webhook URL must pass the
destination rules of :mod:`core_api.automation.destinations` (https, a public address, ...); its
signing secret is generated here and returned once, in the creation response. An organization has at most
AUTOMATION_MAX_RULES_PER_ORGANIZATION rules. Disabling or deleting a rule cancels its deliveries that have
not started; a deleted rule is soft-deleted, so its delivery history stays readable. Every change is
audited. See docs/automations.md.
"""

from __future__ import annotations

import msgspec
from contracts.automation import (
    AutomationAction,
    AutomationDelivery,
    AutomationDeliveryList,
    AutomationEvent,
    AutomationRule,
    AutomationRuleCreate,
    AutomationRuleCreated,
    AutomationRuleList,
    AutomationRuleUpdate,
    DeliveryStatus,
)
from contracts.problems import FieldError
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from service_common.auth.actor import Actor
from service_common.errors import ConflictError, NotFoundError, UnprocessableError

from core_api.audit import trail
from core_api.automation import destinations
from core_api.automation import repository as repo
from core_api.automation.signing import new_secret
from core_api.db.tenancy import actor_transaction
from core_api.not_found import or_404
from core_api.paging import Paging
from core_api.settings import AutomationSettings

RULE = "automation_rule"
DELIVERY = "automation_delivery"


def _rule_errors(data: AutomationRuleCreate, settings: AutomationSettings) -> list[FieldError]:
    errors: list[FieldError] = []
    if data.action is AutomationAction.WEBHOOK:
        if data.webhook_url is None:
            errors.append(FieldError(field="webhook_url", message="a webhook rule needs webhook_url"))
        else:
            try:
                destinations.parse(data.webhook_url, settings)
            except destinations.UrlRefused as exc:
                errors.append(FieldError(field="webhook_url", message=str(exc)))
        if data.form_template_id is not None:
            errors.append(FieldError(field="form_template_id", message="only require_form rules take a form"))
    else:
        if data.form_template_id is None:
            errors.append(FieldError(field="form_template_id", message="require_form needs form_template_id"))
        if data.webhook_url is not None:
            errors.append(FieldError(field="webhook_url", message="only webhook rules take a URL"))
    return errors


async def _destination_errors(webhook_url: str, settings: AutomationSettings) -> list[FieldError]:
    """Refuse a host that resolves to an address outside the policy now; one that does not resolve yet is
    accepted (its deliveries fail until it does, and every delivery checks again)."""
    try:
        await destinations.check(destinations.parse(webhook_url, settings), settings)
    except destinations.AddressRefused:
        message = "the host is or resolves to an address webhooks may not reach (loopback, private, ...)"
        return [FieldError(field="webhook_url", message=message)]
    except destinations.NameNotResolved:
        pass
    return []


class AutomationService:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection], settings: AutomationSettings) -> None:
        self._pool = pool
        self._settings = settings

    async def create_rule(self, actor: Actor, data: AutomationRuleCreate) -> AutomationRuleCreated:
        errors = _rule_errors(data, self._settings)
        if not errors and data.webhook_url is not None:
            errors = await _destination_errors(data.webhook_url, self._settings)
        if errors:
            raise UnprocessableError("The automation rule is not valid.", errors=errors)
        secret = new_secret() if data.action is AutomationAction.WEBHOOK else None
        async with actor_transaction(self._pool, actor) as conn:
            cap = self._settings.max_rules_per_organization
            if await repo.count_rules_locked(conn) >= cap:
                raise UnprocessableError(
                    f"The organization already has the most automation rules allowed ({cap}); delete one first."
                )
            if data.form_template_id is not None and not await repo.form_template_usable(conn, data.form_template_id):
                raise UnprocessableError(
                    "The form template does not exist.",
                    errors=[FieldError(field="form_template_id", message="no such form template")],
                )
            rule = await repo.insert_rule(
                conn,
                {
                    "event_type": data.event_type.value,
                    "action": data.action.value,
                    "webhook_url": data.webhook_url,
                    "signing_secret": secret,
                    "form_template_id": data.form_template_id,
                    "enabled": data.enabled,
                },
            )
            # The secret stays out of the audit trail: the row shows the rule as the API does.
            await trail.record(conn, actor, "automation_rule.created", RULE, rule.id, after=rule)
        return AutomationRuleCreated(**msgspec.structs.asdict(rule), signing_secret=secret)

    async def list_rules(self, actor: Actor) -> AutomationRuleList:
        async with actor_transaction(self._pool, actor) as conn:
            return AutomationRuleList(rules=await repo.list_rules(conn))

    async def get_rule(self, actor: Actor, rule_id: int) -> AutomationRule:
        async with actor_transaction(self._pool, actor) as conn:
            rule = await repo.get_rule(conn, rule_id)
        return or_404(rule, f"Automation rule {rule_id} was not found.")

    async def update_rule(self, actor: Actor, rule_id: int, data: AutomationRuleUpdate) -> AutomationRule:
        async with actor_transaction(self._pool, actor) as conn:
            before = await repo.get_rule(conn, rule_id)
            after = await repo.set_rule_enabled(conn, rule_id, data.enabled)
            if before is None or after is None:
                raise NotFoundError(f"Automation rule {rule_id} was not found.")
            if not after.enabled:
                await repo.cancel_stopped(conn, rule_id)
            await trail.record(conn, actor, "automation_rule.updated", RULE, rule_id, before=before, after=after)
            return after

    async def delete_rule(self, actor: Actor, rule_id: int) -> None:
        """Soft-delete the rule and cancel its deliveries that have not started; their history stays."""
        async with actor_transaction(self._pool, actor) as conn:
            before = await repo.get_rule(conn, rule_id)
            if before is None or not await repo.delete_rule(conn, rule_id):
                raise NotFoundError(f"Automation rule {rule_id} was not found.")
            await repo.cancel_stopped(conn, rule_id)
            await trail.record(conn, actor, "automation_rule.deleted", RULE, rule_id, before=before)

    async def list_deliveries(
        self,
        actor: Actor,
        *,
        status: DeliveryStatus | None,
        rule_id: int | None,
        event_type: AutomationEvent | None,
        paging: Paging,
    ) -> AutomationDeliveryList:
        params = paging.params(
            status=None if status is None else status.value,
            rule_id=rule_id,
            event_type=None if event_type is None else event_type.value,
        )
        async with actor_transaction(self._pool, actor) as conn:
            deliveries, total = await repo.list_deliveries(conn, params)
        return paging.listing(AutomationDeliveryList, deliveries, total)

    async def retry_delivery(self, actor: Actor, delivery_id: int) -> AutomationDelivery:
        """Send a dead or cancelled delivery of an enabled rule back to the queue, for another round of attempts."""
        async with actor_transaction(self._pool, actor) as conn:
            before = or_404(
                await repo.get_delivery(conn, delivery_id), f"Automation delivery {delivery_id} was not found."
            )
            if not await repo.requeue(conn, delivery_id):
                if before.status in (DeliveryStatus.DEAD, DeliveryStatus.CANCELLED):
                    raise ConflictError(
                        "Its rule is disabled or deleted; only an enabled rule's delivery can be retried."
                    )
                raise ConflictError(
                    f"Only a dead or cancelled delivery can be retried; this one is {before.status.value}."
                )
            after = await repo.get_delivery(conn, delivery_id)
            await trail.record(
                conn, actor, "automation_delivery.retried", DELIVERY, delivery_id, before=before, after=after
            )
            assert after is not None
            return after
