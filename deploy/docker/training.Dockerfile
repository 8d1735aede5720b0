# syntax=docker/dockerfile:1
# training: tracks certifications and renewals and says who is eligible.
# Built from the workspace root:  docker build -f deploy/docker/training.Dockerfile -t pss/training .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /bin/uv
ENV UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app
WORKDIR /src
# the lock, the shared libraries and this service only: the image holds nothing else
COPY pyproject.toml uv.lock ./
COPY libs/contracts libs/contracts
COPY libs/servicekit libs/servicekit
COPY services/training services/training
RUN uv sync --frozen --no-dev --package training --no-editable

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --no-create-home pss
COPY --from=build /app /app
ENV PATH=/app/bin:$PATH PYTHONUNBUFFERED=1 HTTP_HOST=0.0.0.0 HTTP_PORT=8080
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health/live', timeout=2)"]
ENTRYPOINT ["pss-training"]
# `migrate` (run once per release, as a Job or init container) upgrades the service's schema
CMD ["serve"]
