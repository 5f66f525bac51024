FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
COPY schemas ./schemas
COPY scenarios ./scenarios
RUN pip install --no-cache-dir .

ENV MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_PORT=8080 \
    MOCKSERVER_LOG_FORMAT=json
EXPOSE 8080
USER nobody
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_mock/health/ready', timeout=2)"]
ENTRYPOINT ["mockserver", "serve"]
