"""HTTP routes of the reference data: users, specialties, specialists, patients and the service plans they
hold, exercises, form templates and service plans.

Reads are for staff (admins and specialists), writes for admins, except where a route says otherwise:
specialists also create patients and exercises, and a patient reads their own patient record and
service plans.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from contracts.exercises import Exercise, ExerciseCreate, ExerciseList, ExerciseUpdate
from contracts.form_templates import FormTemplate, FormTemplateCreate, FormTemplateList
from contracts.forms import FormKind
from contracts.patients import Patient, PatientCreate, PatientDetail, PatientList, PatientUpdate
from contracts.plans import Difficulty
from contracts.service_plans import (
    PatientServicePlan,
    PatientServicePlanCreate,
    PatientServicePlanList,
    ServicePlan,
    ServicePlanCreate,
    ServicePlanList,
)
from contracts.users import (
    Specialist,
    SpecialistCreate,
    SpecialistList,
    Specialty,
    SpecialtyCreate,
    SpecialtyList,
    User,
    UserCreate,
)
from litestar import Controller
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from service_common.auth.actor import CurrentActor
from service_common.strict_requests import TEXT_PATTERN

from core_api.dependencies import Reference
from core_api.paging import IdPath, IdQuery, PageRequest
from core_api.routing import (
    ADMIN,
    STAFF,
    WRITE_ERRORS,
    create,
    listing,
    read,
    update,
)

# Serial ids stay below 2**53: JSON clients hold numbers as doubles, and the OpenAPI document states the
# bound as one, so a bigint bound would round up and advertise ids that overflow the column.
# PostgreSQL text cannot hold NUL; refusing it here makes it a 422 naming the parameter.
NameQuery = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=200, pattern=TEXT_PATTERN, description="part of the name"),
]


class UserController(Controller):
    path = "/v1/users"
    tags = ["users"]

    @create("/", "CreateUser", ADMIN)
    async def create_user(self, actor: CurrentActor, reference: Reference, data: JSONBody[UserCreate]) -> User:
        """A user of the caller's organization with a role; the identity provider issues their tokens."""
        return await reference.create_user(actor, data)

    @read("/{user_id:int}", "GetUser", STAFF)
    async def get_user(self, actor: CurrentActor, reference: Reference, user_id: IdPath) -> User:
        """One user of the caller's organization."""
        return await reference.get_user(actor, user_id)


class SpecialtyController(Controller):
    path = "/v1/specialties"
    tags = ["specialties"]

    @listing("/", "ListSpecialties", STAFF)
    async def list_specialties(
        self,
        actor: CurrentActor,
        reference: Reference,
        q: NameQuery = None,
        *,
        paging: PageRequest,
    ) -> SpecialtyList:
        """The organization's specialties and the global ones, by name."""
        return await reference.list_specialties(actor, paging, q)

    @create("/", "CreateSpecialty", ADMIN)
    async def create_specialty(
        self, actor: CurrentActor, reference: Reference, data: JSONBody[SpecialtyCreate]
    ) -> Specialty:
        """A specialty of the organization, or a global one (platform administrators only). Names are
        unique per owner, whatever their case."""
        return await reference.create_specialty(actor, data)

    @read("/{specialty_id:int}", "GetSpecialty", STAFF)
    async def get_specialty(self, actor: CurrentActor, reference: Reference, specialty_id: IdPath) -> Specialty:
        """One specialty of the organization or a global one."""
        return await reference.get_specialty(actor, specialty_id)


class SpecialistController(Controller):
    path = "/v1/specialists"
    tags = ["specialists"]

    @listing("/", "ListSpecialists", STAFF)
    async def list_specialists(
        self,
        actor: CurrentActor,
        reference: Reference,
        specialty_id: IdQuery = None,
        *,
        paging: PageRequest,
    ) -> SpecialistList:
        """The organization's specialists, by name."""
        return await reference.list_specialists(actor, paging, specialty_id)

    @create("/", "CreateSpecialist", ADMIN)
    async def create_specialist(
        self, actor: CurrentActor, reference: Reference, data: JSONBody[SpecialistCreate]
    ) -> Specialist:
        """A specialist with a usable specialty (the organization's or a global one), optionally linked to
        a user with the role specialist; a user is linked to at most one specialist."""
        return await reference.create_specialist(actor, data)

    @read("/{specialist_id:int}", "GetSpecialist", STAFF)
    async def get_specialist(self, actor: CurrentActor, reference: Reference, specialist_id: IdPath) -> Specialist:
        """One specialist of the organization."""
        return await reference.get_specialist(actor, specialist_id)


class PatientController(Controller):
    path = "/v1/patients"
    tags = ["patients"]

    @listing("/", "ListPatients", STAFF)
    async def list_patients(
        self,
        actor: CurrentActor,
        reference: Reference,
        q: NameQuery = None,
        *,
        paging: PageRequest,
    ) -> PatientList:
        """The organization's patients, by name; ``q`` matches part of the name, whatever its case."""
        return await reference.list_patients(actor, paging, q)

    @create("/", "CreatePatient", STAFF)
    async def create_patient(self, actor: CurrentActor, reference: Reference, data: JSONBody[PatientCreate]) -> Patient:
        """A patient of the organization, living in an IANA time zone, optionally linked to a user with
        the role patient."""
        return await reference.create_patient(actor, data)

    @read("/{patient_id:int}", "GetPatient")
    async def get_patient(self, actor: CurrentActor, reference: Reference, patient_id: IdPath) -> PatientDetail:
        """One patient: staff see the organization's, a patient only themself. ``telemetry_actor_hash`` is
        the ``actor_hash`` the telemetry read routes of the patient's views and pose sessions take."""
        return await reference.get_patient(actor, patient_id)

    @update("/{patient_id:int}", "UpdatePatient", STAFF)
    async def update_patient(
        self, actor: CurrentActor, reference: Reference, patient_id: IdPath, data: JSONBody[PatientUpdate]
    ) -> Patient:
        """Change the fields the body names; ``null`` clears an optional one."""
        return await reference.update_patient(actor, patient_id, data)

    @read("/{patient_id:int}/service-plans", "ListPatientServicePlans")
    async def list_service_plans(
        self,
        actor: CurrentActor,
        reference: Reference,
        patient_id: IdPath,
        paging: PageRequest,
    ) -> PatientServicePlanList:
        """The service plans the patient holds or held, latest start first: staff see any patient's, a
        patient only their own."""
        return await reference.list_patient_service_plans(actor, patient_id, paging)

    @create("/{patient_id:int}/service-plans", "CreatePatientServicePlan", ADMIN, errors=WRITE_ERRORS)
    async def create_service_plan(
        self,
        actor: CurrentActor,
        reference: Reference,
        patient_id: IdPath,
        data: JSONBody[PatientServicePlanCreate],
    ) -> PatientServicePlan:
        """Give the patient a service plan of the organization from ``starts_on`` through ``ends_on``."""
        return await reference.create_patient_service_plan(actor, patient_id, data)


class PatientServicePlanController(Controller):
    path = "/v1/patient-service-plans"
    tags = ["patients"]

    @read("/{patient_service_plan_id:int}", "GetPatientServicePlan")
    async def get_patient_service_plan(
        self, actor: CurrentActor, reference: Reference, patient_service_plan_id: IdPath
    ) -> PatientServicePlan:
        """One service plan a patient holds or held: staff see any patient's, a patient only their own."""
        return await reference.get_patient_service_plan(actor, patient_service_plan_id)


class ExerciseController(Controller):
    path = "/v1/exercises"
    tags = ["exercises"]
    guards = [STAFF]

    @listing("/", "ListExercises")
    async def list_exercises(
        self,
        actor: CurrentActor,
        reference: Reference,
        published: FromQuery[bool | None] = None,
        difficulty: FromQuery[Difficulty | None] = None,
        q: NameQuery = None,
        *,
        paging: PageRequest,
    ) -> ExerciseList:
        """The organization's exercises and the global ones, by name."""
        return await reference.list_exercises(actor, paging, published=published, difficulty=difficulty, q=q)

    @create("/", "CreateExercise")
    async def create_exercise(
        self, actor: CurrentActor, reference: Reference, data: JSONBody[ExerciseCreate]
    ) -> Exercise:
        """An exercise of the organization, or a global one (platform administrators only); a draft unless
        ``published`` is true."""
        return await reference.create_exercise(actor, data)

    @read("/{exercise_id:uuid}", "GetExercise")
    async def get_exercise(self, actor: CurrentActor, reference: Reference, exercise_id: FromPath[UUID]) -> Exercise:
        """One exercise of the organization or a global one."""
        return await reference.get_exercise(actor, exercise_id)

    @update("/{exercise_id:uuid}", "UpdateExercise")
    async def update_exercise(
        self,
        actor: CurrentActor,
        reference: Reference,
        exercise_id: FromPath[UUID],
        data: JSONBody[ExerciseUpdate],
    ) -> Exercise:
        """Change the fields the body names. Global exercises are read-only except for platform
        administrators."""
        return await reference.update_exercise(actor, exercise_id, data)


class FormTemplateController(Controller):
    path = "/v1/form-templates"
    tags = ["form templates"]

    @listing("/", "ListFormTemplates", STAFF)
    async def list_form_templates(
        self,
        actor: CurrentActor,
        reference: Reference,
        kind: FromQuery[FormKind | None] = None,
        *,
        paging: PageRequest,
    ) -> FormTemplateList:
        """The organization's form templates and the global ones, by title."""
        return await reference.list_form_templates(actor, paging, kind)

    @create("/", "CreateFormTemplate", ADMIN)
    async def create_form_template(
        self, actor: CurrentActor, reference: Reference, data: JSONBody[FormTemplateCreate]
    ) -> FormTemplate:
        """A form template of the organization, or a global one (platform administrators only)."""
        return await reference.create_form_template(actor, data)

    @read("/{form_template_id:int}", "GetFormTemplate", STAFF)
    async def get_form_template(
        self, actor: CurrentActor, reference: Reference, form_template_id: IdPath
    ) -> FormTemplate:
        """One form template of the organization or a global one."""
        return await reference.get_form_template(actor, form_template_id)


class ServicePlanController(Controller):
    path = "/v1/service-plans"
    tags = ["service plans"]

    @listing("/", "ListServicePlans", STAFF)
    async def list_service_plans(
        self, actor: CurrentActor, reference: Reference, paging: PageRequest
    ) -> ServicePlanList:
        """The organization's service plans, by name."""
        return await reference.list_service_plans(actor, paging)

    @create("/", "CreateServicePlan", ADMIN)
    async def create_service_plan(
        self, actor: CurrentActor, reference: Reference, data: JSONBody[ServicePlanCreate]
    ) -> ServicePlan:
        """A service plan: which parts of the product (telerehab, the plan library) its holders may use."""
        return await reference.create_service_plan(actor, data)

    @read("/{service_plan_id:int}", "GetServicePlan", STAFF)
    async def get_service_plan(self, actor: CurrentActor, reference: Reference, service_plan_id: IdPath) -> ServicePlan:
        """One service plan of the organization."""
        return await reference.get_service_plan(actor, service_plan_id)


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
