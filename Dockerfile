# scaleguard's container image: a static binary on distroless, no shell,
# not root.
#
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/scaleguard/scaleguard:0.1.0 .
#
# Both base images are pinned by tag. Release pipelines should pin them by
# digest too (FROM golang:1.26@sha256:…), so that rebuilding a release gives
# the same bytes; config/dockerfile_test.go accepts either form.

# What `scaleguard version` prints and the image label says.
ARG VERSION=dev
# The commit the image is built from, for its label.
ARG REVISION=unknown

# The builder runs on the build machine's platform and cross-compiles to the
# target's: no emulation, and with cgo off the binary is pure Go.
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS TARGETARCH VERSION
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO_ENABLED=0 links statically, which distroless/static needs (it has no
# libc). -trimpath and -s -w leave out build paths and symbol tables.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/scaleguard ./cmd/scaleguard

# CA certificates, tzdata and /etc/passwd; no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION REVISION
LABEL org.opencontainers.image.title="scaleguard" \
      org.opencontainers.image.description="Kubernetes admission webhook that enforces autoscaling standards" \
      org.opencontainers.image.source="https://github.com/scaleguard/scaleguard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=builder /out/scaleguard /scaleguard
# The nonroot user, by number: the kubelet enforces runAsNonRoot only on a
# numeric user (it cannot look a name up in the image).
USER 65532:65532
# Exec form, as there is no shell for the shell form. A pod's `args`
# replace CMD and keep this ENTRYPOINT.
ENTRYPOINT ["/scaleguard"]
CMD ["serve"]
