# idp-emulator: the IdP and the Espace Client (one image, two commands).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    IDP_DATA_DIR=/data/idp \
    CLIENT_DATA_DIR=/data/client

WORKDIR /app
COPY pyproject.toml README.md ./
COPY idp ./idp
COPY client_app ./client_app
COPY seeds ./seeds
RUN pip install ".[postgres]" \
    && useradd --create-home --uid 1000 emulator \
    && mkdir -p /data/idp /data/client \
    && chown -R emulator /data
# Seeds are read from the source tree (idp.config.SEEDS_DIR), not from site-packages.
ENV IDP_SEEDS_DIR=/app/seeds
USER emulator
VOLUME ["/data"]
EXPOSE 8400 8401
CMD ["idp-emulator", "serve", "--host", "0.0.0.0", "--port", "8400"]
