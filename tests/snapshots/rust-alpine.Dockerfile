# demo-svc: one Dockerfile, four stages (see README.md, "The image").
#   build    compile the dependencies (cached apart from the sources), then a static binary
#   test     cargo fmt --check, cargo clippy -D warnings, cargo test:
#            `docker buildx build --target test .` fails when a test fails
#   debug    the binary with debug info, under gdbserver on port 2345 (never the default)
#   release  the default target: the binary, the CA bundle and passwd/group on alpine
# Each stage starts under a `# ==== N/4` banner; helper stages sit just before their first user.
# Builds that fetch crates through a TLS-intercepting proxy take its CA bundle as a secret:
#   docker buildx build --secret id=ca_bundle,src=/path/to/ca-bundle.crt .

ARG RUST_VERSION=1.95

# ==== 1/4 build, after its helper stage recipe ===================================================
# The dependency recipe (docker/cargo-recipe.sh): Cargo.toml and Cargo.lock with the project's
# own name, version and description replaced by fixed values, so that renaming the package,
# bumping its version or editing a comment does not rebuild every dependency.
FROM --platform=$BUILDPLATFORM rust:${RUST_VERSION}-trixie AS recipe
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN --mount=type=bind,source=docker/cargo-recipe.sh,target=/tmp/cargo-recipe.sh \
    sh /tmp/cargo-recipe.sh /recipe

FROM --platform=$BUILDPLATFORM rust:${RUST_VERSION}-trixie AS build
ARG TARGETARCH
ARG BUILDARCH
WORKDIR /src
# The Rust target of the image's platform. The build always runs on the build machine's platform
# and cross-compiles for arm64 (or amd64 from an arm64 machine): it adds that target to rustup
# and Debian's cross linker, and tells cargo to link with it. clippy and rustfmt (the test stage
# needs them; upstream images have the minimal profile) are added here, once per toolchain, not
# again after every source change.
# hadolint ignore=DL3008
RUN --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu; gcc=x86_64-linux-gnu-gcc; \
             cross=x86-64-linux-gnu; deb=amd64 ;; \
      arm64) target=aarch64-unknown-linux-gnu; gcc=aarch64-linux-gnu-gcc; \
             cross=aarch64-linux-gnu; deb=arm64 ;; \
      *) echo "unsupported TARGETARCH=$TARGETARCH (amd64 and arm64 are mapped)" >&2; exit 1 ;; \
    esac \
 && echo "$target" > /etc/rust-target \
 && rustup component add clippy rustfmt \
 && if [ "$TARGETARCH" != "$BUILDARCH" ]; then \
      rustup target add "$target" \
      && apt-get -o Acquire::Retries=3 update \
      && apt-get -o Acquire::Retries=3 install -y --no-install-recommends \
           "gcc-${cross}" "libc6-dev-${deb}-cross" \
      && rm -rf /var/lib/apt/lists/* \
      && printf '[target.%s]\nlinker = "%s"\n' "$target" "$gcc" >> "$CARGO_HOME/config.toml"; \
    fi
# Static glibc binary: it runs on scratch, alpine (musl) and distroless static alike. The musl
# target (x86_64-unknown-linux-musl) is the alternative: `rustup target add` it and use it as the
# target; it needs no C toolchain for pure-Rust crates, and its allocator is slow under many
# threads (mimalloc is the usual fix). With --target, RUSTFLAGS reach only the target's code,
# never the build scripts and proc-macros that run on the build machine.
ARG RELEASE_RUSTFLAGS="-C target-feature=+crt-static"
# An org config's crates.io mirror (build-args.env): cargo reads source replacement only from
# its config file, so this step writes one when the argument is set.
ARG CARGO_REGISTRY_MIRROR
RUN if [ -n "${CARGO_REGISTRY_MIRROR:-}" ]; then \
      printf '[source.crates-io]\nreplace-with = "mirror"\n\n[source.mirror]\nregistry = "%s"\n' \
        "$CARGO_REGISTRY_MIRROR" >> "$CARGO_HOME/config.toml"; \
    fi
# cargo auditable embeds Cargo.lock's crate list in the binary (a .dep-v0 section), so scanners
# (Syft, Trivy, Grype) see every crate of the release image; a plain `cargo build` binary shows
# them none. Built once per toolchain, in this layer.
ARG CARGO_AUDITABLE_VERSION=0.7.7
RUN --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    cargo install --locked --quiet cargo-auditable --version "$CARGO_AUDITABLE_VERSION" \
 && rm -rf "$CARGO_HOME/registry"
# Dependencies in their own step, from the recipe alone: a source-only change reuses this layer
# (and so does every project with the same dependencies). The crates fetched here stay in the
# layer, so the test and debug stages compile offline.
COPY --from=recipe /recipe/ ./
RUN --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    target="$(cat /etc/rust-target)" \
 && host="$(rustc --print host-tuple)" \
 && cargo fetch --locked --target "$target" --target "$host" \
 && RUSTFLAGS="$RELEASE_RUSTFLAGS" cargo build --locked --release --target "$target"
COPY . .
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_DATE_EPOCH=0
RUN target="$(cat /etc/rust-target)" \
 && APP_VERSION="$VERSION" APP_REVISION="$REVISION" RUSTFLAGS="$RELEASE_RUSTFLAGS" \
      cargo auditable build --locked --release --target "$target" \
 && mkdir -p /out/usr/local/bin \
 && cp "target/$target/release/demo-svc" /out/usr/local/bin/ \
 && find /out -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +

# ==== 2/4 test ===================================================================================
# Tests, lints and the debug build share one cache-mounted target dir for the dev profile: the
# dependencies are compiled once and survive source changes; `cargo test` builds the debug
# binary too, so building the debug stage after the test stage costs nearly nothing.
FROM build AS test
RUN --mount=type=cache,target=/target-dev \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    export CARGO_TARGET_DIR=/target-dev \
 && cargo fmt --check \
 && cargo clippy --locked --all-targets -- -D warnings \
 && cargo test --locked

# ==== 3/4 debug, after its helper stages rootfs and debug-build ==================================
# The run-time files every base gets besides the binary: a numeric non-root user and the CA
# bundle. A stage of its own, so that no CA secret mounted in the build steps can land in it.
FROM --platform=$BUILDPLATFORM rust:${RUST_VERSION}-trixie AS rootfs
ARG SOURCE_DATE_EPOCH=0
RUN mkdir -p /rootfs/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /rootfs/etc/passwd \
 && printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' > /rootfs/etc/group \
 && find /rootfs -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +

FROM build AS debug-build
ARG TARGETARCH
ARG BUILDARCH
RUN --mount=type=cache,target=/target-dev \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    export CARGO_TARGET_DIR=/target-dev \
 && target="$(cat /etc/rust-target)" \
 && if [ "$TARGETARCH" = "$BUILDARCH" ]; then \
      cargo build --locked && dir=/target-dev/debug; \
    else \
      cargo build --locked --target "$target" && dir="/target-dev/$target/debug"; \
    fi \
 && mkdir -p /debug/usr/local/bin \
 && cp "$dir/demo-svc" /debug/usr/local/bin/

# Never the default target. gdbserver's port is unauthenticated remote code execution: publish it
# on 127.0.0.1 only (compose.yaml and the Makefile do). The program waits, stopped at its first
# instruction, until a debugger connects and continues it.
FROM debian:trixie-slim AS debug
# gdbserver comes from the Debian release this image is pinned to; its version follows that.
# hadolint ignore=DL3008
RUN --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    apt-get -o Acquire::Retries=3 update \
 && apt-get -o Acquire::Retries=3 install -y --no-install-recommends gdbserver \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home \
      --shell /sbin/nologin nonroot
COPY --from=rootfs /rootfs/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=debug-build /debug/ /
ENV PORT=8080 LOG_LEVEL=debug
EXPOSE 8080 2345
USER 65532:65532
ENTRYPOINT ["/usr/bin/gdbserver", "--no-disable-randomization", \
            "0.0.0.0:2345", "/usr/local/bin/demo-svc"]

# ==== 4/4 release, the default target: it stays last =============================================
FROM alpine:3.22 AS release
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
COPY --link --from=build /out/ /
ENV PORT=8080
EXPOSE 8080
USER 65532:65532
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --start-interval=1s \
  CMD ["/usr/local/bin/demo-svc", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/demo-svc"]
