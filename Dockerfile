FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
COPY schemas ./schemas
RUN pip install --no-cache-dir .

ENV MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_PORT=8080 \
    MOCKSERVER_LOG_FORMAT=json
EXPOSE 8080
USER nobody
ENTRYPOINT ["mockserver", "serve"]
