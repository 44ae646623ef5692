# The base is pinned to a Python patch release and a Debian release: `python:3.11-slim` moves
# to every new patch and, with each new Debian stable, to another distribution, whose package
# names and versions (postgresql-client's major version among them) differ from what the
# packages below were chosen for. Update the tag on purpose (README, "Docker"); to make the
# build fully repeatable, add the digest the registry gives for it (`@sha256:…`).
FROM python:3.11.17-slim-bookworm
# System packages the service needs (README, "System packages"): Pango and HarfBuzz-subset
# (WeasyPrint prints the evidence bundle's report.pdf with them; without libharfbuzz-subset0 it
# falls back to a far slower subsetter), the CJK font it embeds (fonts-noto-cjk: without it an
# export fails and says so) and fontconfig to find it; tzdata for LEDGER_TIME_ZONE;
# postgresql-client for `ledger backup` / `ledger restore` (pg_dump and pg_restore: bookworm's
# 15, the major version of the compose file's postgres:15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
      libfontconfig1 fontconfig fonts-noto-cjk tzdata \
      postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && fc-cache -f
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY api ./api
COPY web ./web
# /data: the SQLite file and filesystem blobs (unused with PostgreSQL's defaults); /keys: the
# checkpoint signing keys (written once by `ledger migrate --keys`, then mounted read-only).
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 ledger \
 && mkdir -p /data /keys && chown ledger /data /keys && chmod 0700 /keys
USER ledger
ENV LEDGER_DATA_DIR=/data LEDGER_KEY_DIR=/keys LEDGER_LOG_FORMAT=json PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=6 \
  CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8080/readyz', timeout=3)"]
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8080"]
