# syntax=docker/dockerfile:1
# One image for the operator, the tenant API server (with the web UI embedded) and the mock provider.

# 1. The web UI, built from the lockfile.
FROM node:20-bookworm-slim AS web
# The lockfile is written by npm 11 (the project's toolchain); node:20 ships npm 10.
ARG NPM_VERSION=11.19.1
RUN npm install --global --no-audit --no-fund "npm@${NPM_VERSION}"
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
# Vite writes the build to ../apiserver/webui/dist, where the Go build embeds it.
RUN npm run build

# 2. The Go binary, with the UI embedded.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/apiserver/webui/dist ./apiserver/webui/dist
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN go build -trimpath \
    -ldflags "-s -w -X github.com/llmplatform/llmplatform/internal/version.Version=${VERSION} -X github.com/llmplatform/llmplatform/internal/version.Commit=${COMMIT} -X github.com/llmplatform/llmplatform/internal/version.BuildDate=${BUILD_DATE}" \
    -o /out/llmplatform ./cmd/llmplatform

# 3. A minimal, non-root runtime: no shell, no package manager. The binary is on PATH, because the operator's
#    API server Deployments run `command: ["llmplatform"]` (controllers/builders.APIServerCommand); the chart and
#    the samples give only `args` (operator, mock-provider) to the entrypoint.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/llmplatform /usr/local/bin/llmplatform
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/llmplatform"]
