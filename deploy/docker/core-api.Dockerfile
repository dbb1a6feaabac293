# syntax=docker/dockerfile:1.7
# core-api image, also used by the outbox dispatcher, the PostgreSQL migration Job and core-api's CronJobs
# (they override the command). Build from the repository root:
#   docker build -f deploy/docker/core-api.Dockerfile -t core-api .
# The build stage installs the locked dependencies into /app/.venv with uv; the final stage is the slim
# Python base with that virtual environment only: no compiler, no uv, no source tree, a non-root user.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
# Dependencies get their own layer, built from the lock file and the members' pyproject files only, so a
# code change does not reinstall them. uv needs every workspace member's pyproject.toml to read the lock.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/
COPY services/common/pyproject.toml services/common/
COPY services/core-api/pyproject.toml services/core-api/
COPY services/telemetry/pyproject.toml services/telemetry/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package core-api
COPY contracts contracts
COPY services/common services/common
COPY services/core-api services/core-api
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package core-api

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home app
COPY --from=build /app/.venv /app/.venv
# SERVER_WORKERS=0: one uvicorn worker (httptools, uvloop) per CPU the process sees. os.cpu_count() sees
# the node's CPUs, not a container limit, so the Kubernetes Deployment sets SERVER_WORKERS from its CPU
# limit (downward API) instead.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8000 \
    SERVER_WORKERS=0 \
    LOG_FORMAT=json
USER 10001:10001
EXPOSE 8000
# Exec form: python is PID 1 and gets SIGTERM itself. uvicorn then stops accepting, lets requests in
# flight finish (up to 20 s) and closes the database pool; the dispatcher finishes its pass and exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "core_api"]
