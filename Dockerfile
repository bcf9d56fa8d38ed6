# syntax=docker/dockerfile:1
# The realtime relay: one replica per container (docker-compose.yml runs three behind Traefik).
# docs/deploy.md explains every choice below.

# Node 22, the LTS line (package.json `engines` is >=20: CI and development machines may run 20).
# Not pinned by digest: this repository was written without registry access, so no digest could be
# read and checked here. Pin it where you build, and let Renovate or Dependabot move the pin:
#   docker buildx imagetools inspect node:22-bookworm-slim   # prints the index digest
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest> .
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: every dependency, TypeScript → dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY libs ./libs
COPY src ./src
# The console page at / is bundled by esbuild into dist/public.
COPY console ./console
COPY scripts/build-console.ts ./scripts/
RUN npm run build

# ---- production dependencies only --------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no production dependency needs an install script to run (the only one with a
# script, @scarf/scarf, is telemetry).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# OCI annotations: what the image is and which commit it was built from. CI passes the rest:
#   --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD)
#   --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) --build-arg SOURCE=<repository URL>
ARG NODE_IMAGE
ARG SOURCE=
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="realtime-relay" \
      org.opencontainers.image.description="Horizontally scalable WebSockets for NestJS: rooms, direct messages, notifications and presence relayed across replicas through NATS, with history and resume." \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
# Owned by root and read-only to the app user: the process cannot rewrite its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# `node` (uid 1000) comes with the official image. Numeric, so Kubernetes' runAsNonRoot can check
# it without a runAsUser.
USER 1000:1000
EXPOSE 3000
# Liveness only: readiness (/health/ready, 503 while draining or without NATS) is for the load
# balancer. Traefik's docker provider routes to a container only once this reports healthy.
# The slim image has no curl or wget; Node has fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the drain (ready turns 503, clients get `reconnect` + 1012 over DRAIN_WINDOW_MS),
# then the process exits 0. Exec form, no npm and no shell in between: the signal reaches Node.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
