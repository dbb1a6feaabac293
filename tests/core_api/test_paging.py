"""core_api.paging: the one place a page request becomes a query's limit and offset and a list response's
figures, and the ``paging`` dependency every list route takes."""

from __future__ import annotations

from contracts.automation import AutomationDeliveryList
from contracts.enrollments import PatientTreatmentPlanList
from contracts.plan_details import TreatmentPlanList
from core_api.paging import FIRST_PAGE, MAX_LIMIT, Paging
from hypothesis import given
from hypothesis import strategies as st

from tests.core_api.helpers.app import APP

pages = st.integers(min_value=1, max_value=1_000_000)
limits = st.integers(min_value=1, max_value=MAX_LIMIT)
totals = st.integers(min_value=0, max_value=10_000_000)


@given(page=pages, limit=limits, total=totals)
def test_the_pages_hold_every_item_and_no_empty_page(page: int, limit: int, total: int) -> None:
    paging = Paging(page, limit)
    count = paging.pages(total)
    assert count * limit >= total
    assert count == 0 or (count - 1) * limit < total
    assert paging.params(q="x") == {"q": "x", "limit": limit, "offset": (page - 1) * limit}


def test_a_listing_puts_the_items_under_the_list_types_own_field() -> None:
    paging = Paging(2, 10)
    plans = paging.listing(TreatmentPlanList, [], 11)
    assert (plans.treatment_plans, plans.total, plans.page, plans.limit, plans.total_pages) == ([], 11, 2, 10, 2)
    assert paging.listing(AutomationDeliveryList, [], 0).deliveries == []
    assert paging.listing(PatientTreatmentPlanList, [], 0).patient_treatment_plans == []
    assert (FIRST_PAGE.page, FIRST_PAGE.limit) == (1, 25)


def test_every_list_route_that_pages_takes_the_paging_dependency() -> None:
    """A route with ``page`` among its query parameters reads it through ``paging``, never on its own."""
    paged = []
    for route in APP.routes:
        for handler in getattr(route, "route_handlers", []):
            parameters = handler.parsed_fn_signature.parameters
            if "page" in parameters or "limit" in parameters:
                raise AssertionError(f"{handler.handler_name} reads page or limit itself")
            if "paging" in parameters:
                paged.append(handler.operation_id)
    assert len(paged) == 14
    assert {"ListPatients", "ListTreatmentPlans", "ListAutomationDeliveries", "ListPatientFormInstances"} <= set(paged)
