# demo-svc: one Dockerfile, four stages (see README.md, "The image").
#   build    compile a static binary (cross-compiles from the build machine's platform)
#   test     go vet + go test: `docker buildx build --target test .` fails when a test fails
#   debug    the binary without optimisations, run under delve on port 40000 (never the default)
#   release  the default target: the binary, the CA bundle and passwd/group on scratch
# Each stage starts under a `# ==== N/4` banner; helper stages sit just before their first user.
# Builds that fetch modules through a TLS-intercepting proxy take its CA bundle as a secret:
#   docker buildx build --secret id=ca_bundle,src=/path/to/ca-bundle.crt .

ARG GO_VERSION=1.26
ARG DELVE_VERSION=v1.27.2

# ==== 1/4 build ==================================================================================
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-trixie AS build
# An org config's module proxy settings (docs: build-args.env); unset when not passed.
ARG GOPROXY GOSUMDB GOPRIVATE GONOSUMDB
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
# Dependencies in their own step: a source-only change reuses it. go.sum is optional for a
# module without dependencies; once go.mod requires modules, commit go.sum (`go mod tidy`):
# the build checks every module against it and never edits it.
COPY go.mod go.sum* ./
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_DATE_EPOCH=0
# -tags timetzdata embeds the time-zone database, so no base needs /usr/share/zoneinfo.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    GOOS="$TARGETOS" GOARCH="$TARGETARCH" go build -trimpath -buildvcs=false -tags timetzdata \
      -ldflags="-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/usr/local/bin/demo-svc ./cmd/demo-svc \
 && find /out -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +

# ==== 2/4 test ===================================================================================
FROM build AS test
ARG GOPROXY GOSUMDB GOPRIVATE GONOSUMDB
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    go vet ./... && go test ./...

# ==== 3/4 debug, after its helper stages rootfs, delve and debug-build ===========================
# The run-time files every base gets besides the binary: a numeric non-root user and the CA
# bundle. A stage of its own, so that no CA secret mounted in the build steps can land in it.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-trixie AS rootfs
ARG SOURCE_DATE_EPOCH=0
RUN mkdir -p /rootfs/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /rootfs/etc/passwd \
 && printf '%s\n' 'root:x:0:' 'nonroot:x:65532:' > /rootfs/etc/group \
 && find /rootfs -exec touch -h -d "@${SOURCE_DATE_EPOCH}" {} +

# delve, built for the target platform; apart from the sources, so it is built only once.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-trixie AS delve
ARG GOPROXY GOSUMDB GOPRIVATE GONOSUMDB
ARG DELVE_VERSION
ARG TARGETOS
ARG TARGETARCH
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
# `go install` puts a cross-compiled binary in $GOPATH/bin/<os>_<arch>/ (and refuses GOBIN then).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    GOOS="$TARGETOS" GOARCH="$TARGETARCH" \
      go install "github.com/go-delve/delve/cmd/dlv@${DELVE_VERSION}" \
 && mkdir /out \
 && if [ -x /go/bin/dlv ]; then mv /go/bin/dlv /out/dlv; \
    else mv "/go/bin/${TARGETOS}_${TARGETARCH}/dlv" /out/dlv; fi

FROM build AS debug-build
ARG GOPROXY GOSUMDB GOPRIVATE GONOSUMDB
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=0.1.0
ARG REVISION=unknown
# No -trimpath: delve reports /src/... paths, which an IDE maps to the checkout (README.md).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=secret,id=ca_bundle,target=/etc/ssl/certs/ca-certificates.crt,required=false \
    GOOS="$TARGETOS" GOARCH="$TARGETARCH" go build -buildvcs=false -tags timetzdata \
      -gcflags="all=-N -l" \
      -ldflags="-X main.version=${VERSION}-debug -X main.revision=${REVISION}" \
      -o /debug/usr/local/bin/demo-svc ./cmd/demo-svc

# Never the default target. delve's port is unauthenticated remote code execution: publish it on
# 127.0.0.1 only (compose.yaml and the Makefile do).
FROM gcr.io/distroless/static-debian13:debug-nonroot AS debug
COPY --from=rootfs /rootfs/ /
COPY --from=delve /out/dlv /usr/local/bin/dlv
COPY --from=debug-build /debug/ /
ENV PORT=8080 XDG_CONFIG_HOME=/tmp
EXPOSE 8080 40000
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/dlv", "exec", "/usr/local/bin/demo-svc", \
            "--headless", "--listen=:40000", "--api-version=2", \
            "--accept-multiclient", "--continue", "--"]

# ==== 4/4 release, the default target: it stays last =============================================
FROM scratch AS release
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
