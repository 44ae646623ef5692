FROM python:3.11-slim
# System packages the service needs: Pango (WeasyPrint renders the evidence bundle's report.pdf
# with it), the CJK font it embeds (fonts-noto-cjk: without it an export fails and says so), and
# fontconfig to find it; postgresql-client for `ledger backup` / `ledger restore` (pg_dump and
# pg_restore: bookworm's 15, the major version of the compose file's postgres:15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 fontconfig fonts-noto-cjk \
      postgresql-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY api ./api
COPY web ./web
RUN pip install --no-cache-dir . && useradd --create-home ledger && mkdir /data && chown ledger /data
USER ledger
ENV LEDGER_DATA_DIR=/data
EXPOSE 8080
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8080"]
