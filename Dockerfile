FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY api ./api
RUN pip install --no-cache-dir . && useradd --create-home ledger && mkdir /data && chown ledger /data
USER ledger
ENV LEDGER_DATA_DIR=/data
EXPOSE 8080
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8080"]
