"""HTTP routes of the reference data: users, specialties, specialists, patients and the service plans they
hold, exercises, form templates and service plans.

Reads are for staff (admins and specialists), writes for admins, except where a route says otherwise:
specialists also create patients and exercises, and a patient reads their own patient record and
service plans.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from contracts.forms import FormKind
from contracts.plans import Difficulty
from contracts.reference import (
    Exercise,
    ExerciseCreate,
    ExerciseList,
    ExerciseUpdate,
    FormTemplate,
    FormTemplateCreate,
    FormTemplateList,
    Patient,
    PatientCreate,
    PatientDetail,
    PatientList,
    PatientServicePlan,
    PatientServicePlanCreate,
    PatientServicePlanList,
    PatientUpdate,
    ServicePlan,
    ServicePlanCreate,
    ServicePlanList,
    Specialist,
    SpecialistCreate,
    SpecialistList,
    Specialty,
    SpecialtyCreate,
    SpecialtyList,
    User,
    UserCreate,
)
from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from service_common.auth.actor import current_actor
from service_common.auth.guards import allow_roles
from service_common.auth.openapi import bearer_security
from service_common.errors import problem_responses
from service_common.strict_requests import TEXT_PATTERN

from core_api.library.service import Paging, ReferenceService
from core_api.paging import DEFAULT_LIMIT, IdPath, IdQuery, LimitParam, PageParam
from core_api.telemetry_tokens import TelemetryTokenIssuer

# Serial ids stay below 2**53: JSON clients hold numbers as doubles, and the OpenAPI document states the
# bound as one, so a bigint bound would round up and advertise ids that overflow the column.
# PostgreSQL text cannot hold NUL; refusing it here makes it a 422 naming the parameter.
NameQuery = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=200, pattern=TEXT_PATTERN, description="part of the name"),
]

STAFF = allow_roles("admin", "specialist")
ADMIN = allow_roles("admin")
LIST_ERRORS = problem_responses(401, 403, 422)
READ_ERRORS = problem_responses(401, 403, 404, 422)
CREATE_ERRORS = problem_responses(401, 403, 409, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


def _service(state: State) -> ReferenceService:
    issuer: TelemetryTokenIssuer = state.telemetry_tokens
    return ReferenceService(state.pool, issuer)


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]
    security = bearer_security()

    @post("/", operation_id="CreateUser", guards=[ADMIN], responses=CREATE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_user(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        data: JSONBody[UserCreate],
    ) -> User:
        """A user of the caller's organization with a role; the identity provider issues their tokens."""
        return await _service(state).create_user(current_actor(request), data)

    @get("/{user_id:int}", operation_id="GetUser", guards=[STAFF], responses=READ_ERRORS)
    async def get_user(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        user_id: IdPath,
    ) -> User:
        """One user of the caller's organization."""
        return await _service(state).get_user(current_actor(request), user_id)


class SpecialtyController(Controller):
    path = "/v1/specialties"
    tags = ["specialties"]
    security = bearer_security()

    @get("/", operation_id="ListSpecialties", guards=[STAFF], responses=LIST_ERRORS)
    async def list_specialties(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        q: NameQuery = None,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> SpecialtyList:
        """The organization's specialties and the global ones, by name."""
        return await _service(state).list_specialties(current_actor(request), Paging(page, limit), q)

    @post(
        "/",
        operation_id="CreateSpecialty",
        guards=[ADMIN],
        responses=CREATE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_specialty(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        data: JSONBody[SpecialtyCreate],
    ) -> Specialty:
        """A specialty of the organization, or a global one (platform administrators only). Names are
        unique per owner, whatever their case."""
        return await _service(state).create_specialty(current_actor(request), data)

    @get("/{specialty_id:int}", operation_id="GetSpecialty", guards=[STAFF], responses=READ_ERRORS)
    async def get_specialty(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        specialty_id: IdPath,
    ) -> Specialty:
        """One specialty of the organization or a global one."""
        return await _service(state).get_specialty(current_actor(request), specialty_id)


class SpecialistController(Controller):
    path = "/v1/specialists"
    tags = ["specialists"]
    security = bearer_security()

    @get("/", operation_id="ListSpecialists", guards=[STAFF], responses=LIST_ERRORS)
    async def list_specialists(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        specialty_id: IdQuery = None,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> SpecialistList:
        """The organization's specialists, by name."""
        return await _service(state).list_specialists(current_actor(request), Paging(page, limit), specialty_id)

    @post(
        "/",
        operation_id="CreateSpecialist",
        guards=[ADMIN],
        responses=CREATE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_specialist(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        data: JSONBody[SpecialistCreate],
    ) -> Specialist:
        """A specialist with a usable specialty (the organization's or a global one), optionally linked to
        a user with the role specialist; a user is linked to at most one specialist."""
        return await _service(state).create_specialist(current_actor(request), data)

    @get("/{specialist_id:int}", operation_id="GetSpecialist", guards=[STAFF], responses=READ_ERRORS)
    async def get_specialist(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        specialist_id: IdPath,
    ) -> Specialist:
        """One specialist of the organization."""
        return await _service(state).get_specialist(current_actor(request), specialist_id)


class PatientController(Controller):
    path = "/v1/patients"
    tags = ["patients"]
    security = bearer_security()

    @get("/", operation_id="ListPatients", guards=[STAFF], responses=LIST_ERRORS)
    async def list_patients(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        q: NameQuery = None,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> PatientList:
        """The organization's patients, by name; ``q`` matches part of the name, whatever its case."""
        return await _service(state).list_patients(current_actor(request), Paging(page, limit), q)

    @post(
        "/",
        operation_id="CreatePatient",
        guards=[STAFF],
        responses=CREATE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_patient(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        data: JSONBody[PatientCreate],
    ) -> Patient:
        """A patient of the organization, living in an IANA time zone, optionally linked to a user with
        the role patient."""
        return await _service(state).create_patient(current_actor(request), data)

    @get("/{patient_id:int}", operation_id="GetPatient", responses=READ_ERRORS)
    async def get_patient(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
    ) -> PatientDetail:
        """One patient: staff see the organization's, a patient only themself. ``telemetry_actor_hash`` is
        the ``actor_hash`` the telemetry read routes of the patient's views and pose sessions take."""
        return await _service(state).get_patient(current_actor(request), patient_id)

    @put("/{patient_id:int}", operation_id="UpdatePatient", guards=[STAFF], responses=WRITE_ERRORS)
    async def update_patient(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
        data: JSONBody[PatientUpdate],
    ) -> Patient:
        """Change the fields the body names; ``null`` clears an optional one."""
        return await _service(state).update_patient(current_actor(request), patient_id, data)

    @get(
        "/{patient_id:int}/service-plans",
        operation_id="ListPatientServicePlans",
        responses=READ_ERRORS,
    )
    async def list_service_plans(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> PatientServicePlanList:
        """The service plans the patient holds or held, latest start first: staff see any patient's, a
        patient only their own."""
        return await _service(state).list_patient_service_plans(current_actor(request), patient_id, Paging(page, limit))

    @post(
        "/{patient_id:int}/service-plans",
        operation_id="CreatePatientServicePlan",
        guards=[ADMIN],
        responses=WRITE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_service_plan(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_id: IdPath,
        data: JSONBody[PatientServicePlanCreate],
    ) -> PatientServicePlan:
        """Give the patient a service plan of the organization from ``starts_on`` through ``ends_on``."""
        return await _service(state).create_patient_service_plan(current_actor(request), patient_id, data)


class PatientServicePlanController(Controller):
    path = "/v1/patient-service-plans"
    tags = ["patients"]
    security = bearer_security()

    @get("/{patient_service_plan_id:int}", operation_id="GetPatientServicePlan", responses=READ_ERRORS)
    async def get_patient_service_plan(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        patient_service_plan_id: IdPath,
    ) -> PatientServicePlan:
        """One service plan a patient holds or held: staff see any patient's, a patient only their own."""
        return await _service(state).get_patient_service_plan(current_actor(request), patient_service_plan_id)


class ExerciseController(Controller):
    path = "/v1/exercises"
    tags = ["exercises"]
    security = bearer_security()
    guards = [STAFF]

    @get("/", operation_id="ListExercises", responses=LIST_ERRORS)
    async def list_exercises(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        published: FromQuery[bool | None] = None,
        difficulty: FromQuery[Difficulty | None] = None,
        q: NameQuery = None,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> ExerciseList:
        """The organization's exercises and the global ones, by name."""
        return await _service(state).list_exercises(
            current_actor(request), Paging(page, limit), published=published, difficulty=difficulty, q=q
        )

    @post("/", operation_id="CreateExercise", responses=CREATE_ERRORS, status_code=HTTP_201_CREATED)
    async def create_exercise(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        data: JSONBody[ExerciseCreate],
    ) -> Exercise:
        """An exercise of the organization, or a global one (platform administrators only); a draft unless
        ``published`` is true."""
        return await _service(state).create_exercise(current_actor(request), data)

    @get("/{exercise_id:uuid}", operation_id="GetExercise", responses=READ_ERRORS)
    async def get_exercise(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        exercise_id: FromPath[UUID],
    ) -> Exercise:
        """One exercise of the organization or a global one."""
        return await _service(state).get_exercise(current_actor(request), exercise_id)

    @put("/{exercise_id:uuid}", operation_id="UpdateExercise", responses=WRITE_ERRORS)
    async def update_exercise(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        exercise_id: FromPath[UUID],
        data: JSONBody[ExerciseUpdate],
    ) -> Exercise:
        """Change the fields the body names. Global exercises are read-only except for platform
        administrators."""
        return await _service(state).update_exercise(current_actor(request), exercise_id, data)


class FormTemplateController(Controller):
    path = "/v1/form-templates"
    tags = ["form templates"]
    security = bearer_security()

    @get("/", operation_id="ListFormTemplates", guards=[STAFF], responses=LIST_ERRORS)
    async def list_form_templates(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        kind: FromQuery[FormKind | None] = None,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> FormTemplateList:
        """The organization's form templates and the global ones, by title."""
        return await _service(state).list_form_templates(current_actor(request), Paging(page, limit), kind)

    @post(
        "/",
        operation_id="CreateFormTemplate",
        guards=[ADMIN],
        responses=CREATE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_form_template(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        data: JSONBody[FormTemplateCreate],
    ) -> FormTemplate:
        """A form template of the organization, or a global one (platform administrators only)."""
        return await _service(state).create_form_template(current_actor(request), data)

    @get("/{form_template_id:int}", operation_id="GetFormTemplate", guards=[STAFF], responses=READ_ERRORS)
    async def get_form_template(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        form_template_id: IdPath,
    ) -> FormTemplate:
        """One form template of the organization or a global one."""
        return await _service(state).get_form_template(current_actor(request), form_template_id)


class ServicePlanController(Controller):
    path = "/v1/service-plans"
    tags = ["service plans"]
    security = bearer_security()

    @get("/", operation_id="ListServicePlans", guards=[STAFF], responses=LIST_ERRORS)
    async def list_service_plans(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        page: PageParam = 1,
        limit: LimitParam = DEFAULT_LIMIT,
    ) -> ServicePlanList:
        """The organization's service plans, by name."""
        return await _service(state).list_service_plans(current_actor(request), Paging(page, limit))

    @post(
        "/",
        operation_id="CreateServicePlan",
        guards=[ADMIN],
        responses=CREATE_ERRORS,
        status_code=HTTP_201_CREATED,
    )
    async def create_service_plan(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        data: JSONBody[ServicePlanCreate],
    ) -> ServicePlan:
        """A service plan: which parts of the product (telerehab, the plan library) its holders may use."""
        return await _service(state).create_service_plan(current_actor(request), data)

    @get("/{service_plan_id:int}", operation_id="GetServicePlan", guards=[STAFF], responses=READ_ERRORS)
    async def get_service_plan(
        self,
        request: Request,  # type: ignore[type-arg]
        state: State,
        service_plan_id: IdPath,
    ) -> ServicePlan:
        """One service plan of the organization."""
        return await _service(state).get_service_plan(current_actor(request), service_plan_id)


REFERENCE_CONTROLLERS = [
    UserController,
    SpecialtyController,
    SpecialistController,
    PatientController,
    PatientServicePlanController,
    ExerciseController,
    FormTemplateController,
    ServicePlanController,
]
