# AMP Pool: console, release binary, small runtime. The RUN steps of the build stages are
# scripts/docker-steps, which CI also runs on the host (no container engine there).
#   docker build -t amp-pool .
#   docker run -p 8000:8000 -v amp-pool-data:/data amp-pool

# 1. The console (frontend/dist).
FROM node:22-bookworm-slim AS console
WORKDIR /src
COPY schema.graphql ./
COPY scripts/docker-steps scripts/
COPY frontend/ frontend/
RUN ./scripts/docker-steps console

# 2. The release binary, with the console embedded.
FROM rust:1-bookworm AS server
WORKDIR /src
COPY . .
COPY --from=console /src/frontend/dist frontend/dist
ENV CARGO_TARGET_DIR=/src/target
RUN ./scripts/docker-steps server check

# 3. The runtime: the binary, CA certificates, curl for the health check, a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin amp \
 && mkdir -p /data && chown amp /data
COPY --from=server /src/target/release/amp-pool /usr/local/bin/amp-pool
USER amp
WORKDIR /data
# SQLite by default (one instance); set DATABASE_URL=postgres://… to run several.
ENV HOST=0.0.0.0 \
    PORT=8000 \
    DATABASE_URL=sqlite:///data/amp_pool.db?mode=rwc \
    JOURNAL_DIR=/data/journal
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/health" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/amp-pool"]
CMD ["serve"]
