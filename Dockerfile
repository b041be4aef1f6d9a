# ext4box server image: the unprivileged, confined FUSE server, one container per mount.
# Runs as 65534 with a read-only root; the supervisor adds --network none, --cap-drop ALL,
# no-new-privileges, deploy/seccomp.json, pids/memory limits and the hand-off socket's dir.
#
#   With a registry:     docker build -t ext4box .
#   Without (this CI):   scripts/build-base-image.sh ext4box-base:local
#                        npm run build && npm run build:native
#                        docker build --build-arg BASE=ext4box-base:local --target runtime-local -t ext4box:local .
# The classic builder builds every stage before --target, so runtime-local comes first.

ARG BASE=node:20-bookworm-slim
ARG BUILD_BASE=node:20-bookworm

# ---- runtime-local: the build outputs come from the context (already built on the host) ----
FROM ${BASE} AS runtime-local
WORKDIR /app
COPY package.json ./
COPY deploy/seccomp.json deploy/seccomp.json
COPY build/Release/ext4box_native.node build/Release/ext4box_native.node
COPY dist/daemon dist/daemon
COPY dist/helper dist/helper
ENV NODE_ENV=production EXT4BOX_SANDBOX=docker UV_THREADPOOL_SIZE=10
USER 65534:65534
ENTRYPOINT ["node"]
CMD ["/app/dist/daemon/server/main.js"]

# ---- build: compile TypeScript and the addon from source ----
FROM ${BUILD_BASE} AS build
RUN apt-get update && apt-get install -y --no-install-recommends libseccomp-dev python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm run build:native && npm prune --omit=dev

# ---- runtime (default target): official node base + libseccomp for the addon ----
FROM ${BASE} AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libseccomp2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/deploy/seccomp.json deploy/seccomp.json
COPY --from=build /src/build/Release/ext4box_native.node build/Release/ext4box_native.node
COPY --from=build /src/dist/daemon dist/daemon
COPY --from=build /src/dist/helper dist/helper
ENV NODE_ENV=production EXT4BOX_SANDBOX=docker UV_THREADPOOL_SIZE=10
USER 65534:65534
ENTRYPOINT ["node"]
CMD ["/app/dist/daemon/server/main.js"]
