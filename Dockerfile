# The provider's production image: the wheel in a virtual environment, run as an account of its own.
# `make up` builds it and starts it with PostgreSQL, Redis, a mail catcher and a TLS proxy (compose.yaml).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY idp ./idp
COPY templates ./templates
COPY migrations ./migrations
# The wheel maps templates/ and migrations/ into the package and compiles the catalogs (setup.py).
RUN pip wheel --no-cache-dir . -w /dist && python -m venv /opt/idp && /opt/idp/bin/pip install --no-cache-dir /dist/idp-*.whl

FROM python:3.11-slim
COPY --from=build /opt/idp /opt/idp
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/idp --create-home idp \
    && chmod 0700 /var/lib/idp
ENV PATH=/opt/idp/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    IDP_SERVER_INSTANCE_PATH=/var/lib/idp
USER idp
WORKDIR /var/lib/idp
EXPOSE 8000
# Ready: the database, Redis (when configured) and the signing keys answer (docs/operations.md).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/ready', timeout=4)"]
CMD ["idp", "serve", "--bind", "0.0.0.0:8000"]
