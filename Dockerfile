# dipwatch: multi-stage build, slim non-root runtime.
#   docker build -t dipwatch .
#   docker run -d --name dipwatch -v dipwatch-data:/data \
#     -p 127.0.0.1:9185:9185 -p 127.0.0.1:9184:9184 \
#     -e APCA_API_KEY_ID=... -e APCA_API_SECRET_KEY=... -e TELOXIDE_TOKEN=... dipwatch
# For a home server, compose.yaml does the same with secrets as files.
# Secrets may come as files (Docker/Compose secrets):
#   -e APCA_API_KEY_ID_FILE=/run/secrets/apca_key_id -e APCA_API_SECRET_KEY_FILE=... -e TELOXIDE_TOKEN_FILE=...
# Try it on simulated prices, in a volume of its own (never the production
# one: simulated and real data must not share a store):
#   docker run --rm -v dipwatch-demo:/data dipwatch collect --config config/demo.toml
#   docker run --rm -v dipwatch-demo:/data dipwatch screen --config config/demo.toml
# scripts/check-docker builds and runs this image in the tests (README "Docker").

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependency layer: rebuilt only when the manifest or the lock file changes.
# scripts/docker-skeleton builds the dependencies from a skeleton of the
# crate (no benches, empty sources), so no target added to Cargo.toml can
# break this step.
COPY Cargo.toml Cargo.lock ./
COPY scripts/docker-skeleton /usr/local/bin/docker-skeleton
RUN docker-skeleton release dipwatch
# Then the whole crate as the build context holds it (.dockerignore keeps out
# only what is never compiled), so every file the binary includes
# (include_str!, include_bytes!: assets/, config/, src/web/*.css) is there.
COPY . .
RUN cargo build --release --locked --bin dipwatch \
 && cp target/release/dipwatch /usr/local/bin/dipwatch

FROM debian:bookworm-slim
# ca-certificates is left unpinned on purpose: it must follow Debian's updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 dipwatch \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
      --shell /usr/sbin/nologin dipwatch \
 && mkdir -p /data && chown 10001:10001 /data && chmod 0750 /data
WORKDIR /app
COPY --from=build /usr/local/bin/dipwatch /usr/local/bin/dipwatch
COPY config config
# Inside a container 127.0.0.1 is the container's own loopback: the defaults
# (127.0.0.1:9184 and :9185) would be unreachable through any published port.
# So both listen on every interface of the container, and what reaches them is
# decided where the ports are published: `-p 127.0.0.1:9185:9185` (or
# compose.yaml's default) keeps them on the host's loopback, for a reverse
# proxy or an ssh tunnel.
ENV DIPWATCH__STORAGE__URL=/data \
    DIPWATCH__HTTP__LISTEN=0.0.0.0:9184 \
    DIPWATCH__WEB__LISTEN=0.0.0.0:9185 \
    DIPWATCH__LOG__FORMAT=json
# A fresh named volume takes the ownership of /data above: writable by 10001.
VOLUME ["/data"]
# 9184: /healthz, /readyz, /metrics. 9185: the dashboard.
EXPOSE 9184 9185
# Numeric, so the host (and Kubernetes' runAsNonRoot) can resolve it.
USER 10001:10001
# The binary probes /healthz on the configured http.listen itself (the same
# configuration layers as `run`), so a changed address stays healthy and the
# image needs no shell or curl.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["dipwatch", "healthcheck"]
ENTRYPOINT ["dipwatch"]
CMD ["run"]
