# syntax=docker/dockerfile:1.7
# core-api image. Build from the repository root:
#   docker build -f deploy/docker/core-api.Dockerfile -t core-api .
# The build stage installs the locked dependencies into /app/.venv with uv; the final stage is the slim
# Python base with that virtual environment only: no compiler, no uv, no source tree, a non-root user.

FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /src
# Dependencies get their own layer, built from the lock file and the members' pyproject files only, so a
# code change does not reinstall them.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/
COPY services/common/pyproject.toml services/common/
COPY services/core-api/pyproject.toml services/core-api/
COPY services/telemetry/pyproject.toml services/telemetry/
RUN uv sync --frozen --no-dev --no-install-workspace --package core-api
COPY contracts contracts
COPY services/common services/common
COPY services/core-api services/core-api
RUN uv sync --frozen --no-dev --no-editable --package core-api

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --no-create-home app
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8000 \
    SERVER_WORKERS=0 \
    LOG_FORMAT=json
USER 10001:10001
EXPOSE 8000
# uvicorn drains in-flight requests on SIGTERM (SERVER_WORKERS=0: one worker per CPU).
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "-m", "core_api"]
