# 保学 Baoxue: one image for the web app, the worker, the scheduler and migrations.
#   docker build -t baoxue .
#   docker run --rm -e BAOXUE_SECRET_KEY=... -p 8000:8000 baoxue            # web (SQLite in /data)
#   docker run --rm ... baoxue worker | scheduler | db upgrade | demo seed
# compose.yaml runs the whole set with PostgreSQL and Redis.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BAOXUE_DATA_DIR=/data

# WeasyPrint: Pango for layout, HarfBuzz's subsetter to embed only the glyphs used (without
# it Chinese PDFs are written about 8x slower), and a CJK font so Chinese text has glyphs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      fonts-noto-cjk \
      libharfbuzz-subset0 \
      libpango-1.0-0 \
      libpangoft2-1.0-0 \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /home/baoxue --shell /usr/sbin/nologin baoxue \
 && mkdir -p /data \
 && chown baoxue:baoxue /data

WORKDIR /app
# Only what the application needs at run time: no .venv, no var/ (local data), no tests.
# The package is installed editable (`-e`): baoxue.platform, baoxue.tenants and
# baoxue.workers map to the top-level folders, and migrations/ and templates/ are found
# beside them (PROJECT_ROOT in platform/settings.py).
COPY pyproject.toml ./
COPY platform/ platform/
COPY tenants/ tenants/
COPY workers/ workers/
COPY templates/ templates/
COPY migrations/ migrations/
RUN pip install -e .

USER baoxue
VOLUME ["/data"]
EXPOSE 8000

ENTRYPOINT ["baoxue"]
CMD ["run", "--host", "0.0.0.0"]
