# Production image: web (gunicorn), Celery worker and Celery beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # settings.BASE_DIR must be /app (templates/, static/ live there), not site-packages.
    PYTHONPATH=/app

WORKDIR /app
RUN useradd --create-home --uid 1000 salesops

COPY . .
# Without the `embedded` extra: production uses the postgres and redis services. The lock
# pins the same versions as development and CI.
RUN pip install -c requirements.lock .

# Settings need DATABASE_URL/REDIS_URL/SECRET_KEY at import; nothing connects during
# collectstatic, so placeholders do for the build. The key must pass the strength check
# (settings refuse a weak one with DEBUG off): a random one, used for this step only.
RUN DEBUG=0 \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DATABASE_URL=postgres://build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/var \
 && chown salesops /app/var

USER salesops
EXPOSE 8000
# Workers, threads, timeouts: salesops/gunicorn_conf.py (GUNICORN_WORKERS etc. change them).
CMD ["gunicorn", "-c", "python:salesops.gunicorn_conf"]
