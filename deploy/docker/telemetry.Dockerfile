# syntax=docker/dockerfile:1.7
# telemetry image, also used by the ClickHouse migration Job and the telemetry retention CronJob (they
# override the command). Build from the repository root:
#   docker build -f deploy/docker/telemetry.Dockerfile -t telemetry .
# The build stage installs the locked dependencies into /app/.venv with uv (without the `embedded` extra:
# production talks to a ClickHouse server, never chdb); the final stage is the slim Python base with that
# virtual environment only: no compiler, no uv, no source tree, a non-root user.
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
    uv sync --frozen --no-dev --no-install-workspace --package telemetry
COPY contracts contracts
COPY services/common services/common
COPY services/telemetry services/telemetry
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package telemetry

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home app \
    && install --directory --owner 10001 --group 10001 --mode 0700 /var/lib/telemetry/spool
COPY --from=build /app/.venv /app/.venv
# One image, two commands: `python -m telemetry` (the entrypoint; SERVER_WORKERS request processes, each
# appending to a spool folder of its own under SPOOL_DIR) and `python -m telemetry.flusher` (one flusher
# process per folder), which Kubernetes runs as a second container on the same persistent volume at
# SPOOL_DIR, so acknowledged rows outlive the containers.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8001 \
    SERVER_WORKERS=1 \
    SPOOL_DIR=/var/lib/telemetry/spool \
    LOG_FORMAT=json
USER 10001:10001
EXPOSE 8001
# Exec form: python is PID 1 and gets SIGTERM itself. uvicorn then stops accepting, lets requests in
# flight finish (up to 20 s) and commits what waits; the flusher inserts until the folders are let go
# (SPOOL_DRAIN_SECONDS; tests/faults/test_telemetry_faults.py signals both under load).
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "telemetry"]
