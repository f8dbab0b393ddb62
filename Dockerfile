# evalsvc against an external PostgreSQL 14+ given by EVALSVC_DATABASE_URL.
# (Without it the embedded server would start inside the container, with its data under
#  EVALSVC_DATA_DIR: mount a volume there if you want that.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    EVALSVC_HOST=0.0.0.0 \
    EVALSVC_PORT=8000 \
    EVALSVC_DATA_DIR=/var/lib/evalsvc

WORKDIR /app
COPY pyproject.toml README.md ./
COPY sql ./sql
COPY src ./src
COPY examples ./examples
RUN pip install . \
    && useradd --system --home-dir /var/lib/evalsvc --create-home evalsvc

USER evalsvc
# The generated secret key (EVALSVC_DATA_DIR/secret_key) and, without an external database,
# the embedded PostgreSQL's data live here: a container without this volume loses the key,
# and with it every open round's voter tokens.
VOLUME ["/var/lib/evalsvc"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os,sys,urllib.request; sys.exit(urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['EVALSVC_PORT']}/health\").status != 200)"
CMD ["evalsvc", "serve"]
