# The service image: built in one stage, run in a small one as a non-root user with the binary
# and the config folder only. `docker compose up` (compose.yaml) runs it with PostgreSQL.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p wa-server --bin whatsapp-agent

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin agent \
    && mkdir -p /app/data && chown agent /app/data
WORKDIR /app
COPY --from=build /src/target/release/whatsapp-agent /usr/local/bin/whatsapp-agent
COPY config /app/config
ENV APP_ENV=production \
    APP_CONFIG_DIR=/app/config \
    HOST=0.0.0.0 \
    PORT=8000 \
    APP_AUTH__ALLOW_ANONYMOUS=false
USER agent
EXPOSE 8000
ENTRYPOINT ["whatsapp-agent"]
CMD ["serve"]
