# demo-svc: one Dockerfile, four stages (see README.md, "The image").
#   build    uv installs the locked dependencies (a cached step of its own), then the project,
#            into the virtual environment /app/.venv, compiled to bytecode
#   test     ruff check, ruff format --check and pytest: `docker buildx build --target test .`
#            fails when a test fails
#   debug    the app under debugpy, listening on port 5678 (never the default target)
#   release  the default target: the venv on distroless python3 (its interpreter, no shell)
# Each stage starts under a `# ==== N/4` banner; helper stages sit just before their first user.
# Builds that download packages through a TLS-intercepting proxy take its CA bundle as a secret:
#   docker buildx build --secret id=ca_bundle,src=/path/to/ca-bundle.crt .

ARG PYTHON_VERSION=3.13
ARG UV_VERSION=0.13.9

# ==== 1/4 build ==================================================================================
FROM python:${PYTHON_VERSION}-slim-trixie AS build
# An org config's package index (build-args.env); unset when not passed.
ARG PIP_INDEX_URL UV_INDEX_URL
ARG PYTHON_VERSION
ARG UV_VERSION
# uv itself from PyPI, pinned. pip trusts its own CA bundle unless told (PIP_CERT); the secret,
# when given, takes the place of the system bundle for this step only.
# The venv's bin/python links to the interpreter it was created with: /usr/bin/python3.X, the
# path the runtime has (distroless python3; the scratch image gets its copy there). The official
# python image keeps its interpreter in /usr/local/bin, so the link is made where missing.
RUN --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    python${PYTHON_VERSION} -m pip install --no-cache-dir --root-user-action=ignore \
      --target /opt/uv "uv==${UV_VERSION}" \
 && if [ ! -e "/usr/bin/python${PYTHON_VERSION}" ]; then \
      ln -s "/usr/local/bin/python${PYTHON_VERSION}" "/usr/bin/python${PYTHON_VERSION}"; \
    fi
ENV PATH=/app/.venv/bin:/opt/uv/bin:$PATH \
    UV_PYTHON=/usr/bin/python${PYTHON_VERSION} \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=0 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /src
# Dependencies in their own step, from the lock file alone: a source-only change reuses it.
# --locked fails the build when uv.lock does not match pyproject.toml (run `uv lock`). Any
# SOURCE_DATE_EPOCH makes the bytecode hash-based, so file times can be normalised later without
# making it stale; a fixed value here keeps this step's cache key free of the build argument.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    SOURCE_DATE_EPOCH=0 uv sync --locked --no-install-project --no-dev
COPY . .
ARG SOURCE_DATE_EPOCH=0
# The project itself, as a regular package. uv records the source tree's change times in the
# project's metadata (uv_cache.json, read only to tell whether to reinstall): they differ on every
# build, so the file goes, and every file time is set to SOURCE_DATE_EPOCH.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    uv sync --locked --no-editable --no-dev \
 && find /app/.venv -path '*.dist-info/uv_cache.json' -exec rm -f {} + \
 && sed -i '/uv_cache\.json,/d' /app/.venv/lib/python*/site-packages/*.dist-info/RECORD \
 && find /app -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +

# ==== 2/4 test ===================================================================================
FROM build AS test
ARG PIP_INDEX_URL UV_INDEX_URL
# The dev dependency group (ruff, pytest, httpx2) joins the venv in this stage only.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    uv sync --locked --no-editable \
 && ruff check . \
 && ruff format --check . \
 && python -m pytest -p no:cacheprovider

# ==== 3/4 debug, after its helper stages rootfs and debug-build ==================================
# The run-time files every base gets besides the app: a numeric non-root user with a real home
# and the CA bundle, in a stage of their own so that no CA secret of the build steps lands there.
FROM python:${PYTHON_VERSION}-slim-trixie AS rootfs
ARG SOURCE_DATE_EPOCH=0
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/home/nonroot \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /rootfs/etc/passwd \
 && printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' > /rootfs/etc/group \
 && chown 65532:65532 /rootfs/home/nonroot \
 && find /rootfs -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +

# An editable install: the debugger reports /src/src/... paths, which an IDE maps to the checkout.
FROM build AS debug-build
ARG PIP_INDEX_URL UV_INDEX_URL
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    uv sync --locked --no-dev --group debug

# Never the default target. debugpy's port is unauthenticated remote code execution: publish it
# on 127.0.0.1 only (compose.yaml and the Makefile do).
FROM python:${PYTHON_VERSION}-slim-trixie AS debug
ARG PYTHON_VERSION
RUN if [ ! -e "/usr/bin/python${PYTHON_VERSION}" ]; then \
      ln -s "/usr/local/bin/python${PYTHON_VERSION}" "/usr/bin/python${PYTHON_VERSION}"; \
    fi
COPY --from=rootfs /rootfs/ /
COPY --from=debug-build /app/.venv /app/.venv
COPY --from=debug-build /src /src
WORKDIR /src
ENV PORT=8080 \
    HOME=/home/nonroot \
    PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
EXPOSE 8080 5678
USER 65532:65532
ENTRYPOINT ["/app/.venv/bin/python", "-m", "debugpy", \
            "--listen", "0.0.0.0:5678", "-m", "demo_svc"]

# ==== 4/4 release, the default target: it stays last =============================================
FROM gcr.io/distroless/python3-debian13:nonroot AS release
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE_URL=
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="demo-svc" \
      org.opencontainers.image.description="A small HTTP service." \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="${LICENSES}"
COPY --link --from=rootfs /rootfs/ /
COPY --link --from=build /app /app
# No bytecode is written at run time (the file system is read-only): it was compiled in `build`.
ENV PORT=8080 \
    HOME=/home/nonroot \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
USER 65532:65532
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --start-interval=1s \
  CMD ["/app/.venv/bin/python", "-m", "demo_svc.healthcheck"]
ENTRYPOINT ["/app/.venv/bin/python", "-m", "demo_svc"]
