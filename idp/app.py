"""The composition root: create_app builds the Flask app from every layer (extensions, the OIDC server, keys,
blueprints, CLI). The one module besides the CLI that may import any layer; nothing below imports it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from idp import i18n, logs, models, resources  # noqa: F401  (models: registers the tables)
from idp import settings as settings_mod
from idp.cli import register_commands
from idp.extensions import babel, csrf, db, limiter, migrate
from idp.files import private_file, private_folder
from idp.oidc import discovery, server
from idp.oidc.documents import PublicDocuments
from idp.oidc.keys import KeyRing
from idp.portals import declared
from idp.security.crypto import Crypto
from idp.security.passwords import warm_up
from idp.web import (  # noqa: F401  (account_activity, account_delegations, account_factors, account_password: their routes join the account blueprint; admin_audit, admin_messages: the admin one)
    account,
    account_activity,
    account_data,
    account_delegations,
    account_factors,
    account_password,
    account_profile,
    account_sessions,
    activation,
    admin,
    admin_audit,
    admin_messages,
    admin_organisations,
    admin_people,
    admin_portals,
    branding,
    inbox,
    logout,
    observability,
    oidc,
    registration,
    reset,
    scim,
    sign_in,
    site,
)


class Sha256SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, signed with HMAC-SHA256 rather than its default HMAC-SHA1 (OWASP ASVS 5.0
    11.4.1). A cookie signed the old way is simply not read: the sign-in under way in it starts again."""

    digest_method = staticmethod(hashlib.sha256)


def create_app(settings: settings_mod.Settings | None = None) -> Flask:
    """The app factory: bind extensions, build the OIDC server, keys and discovery once."""
    settings = settings or settings_mod.load()

    instance = Path(settings.server.instance_path).resolve()
    app = Flask(__name__, template_folder=str(resources.folder("templates")), instance_path=str(instance))
    app.session_interface = Sha256SessionCookies()
    secure = settings.issuer.startswith("https://")
    app.config.update(
        SECRET_KEY=settings.server.secret_key,
        SQLALCHEMY_DATABASE_URI=_database_url(settings.database.url, instance),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database.url),
        SESSION_COOKIE_NAME="__Host-idp_session" if secure else "idp_session",  # host-only, Path=/, Secure
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # A form's token lives as long as a sign-in may take; over https the form must also come from our own
        # pages (the Referer check; our Referrer-Policy sends it to ourselves only).
        WTF_CSRF_TIME_LIMIT=settings.session.login_minutes * 60,
        WTF_CSRF_SSL_STRICT=True,
        BABEL_TRANSLATION_DIRECTORIES=str(i18n.TRANSLATIONS),
        BABEL_DEFAULT_LOCALE=settings.i18n.default_locale,
        BABEL_DEFAULT_TIMEZONE="Europe/Amsterdam",  # the people and portals served are in the Netherlands
        MAX_CONTENT_LENGTH=64 * 1024,
        RATELIMIT_STORAGE_URI=settings.redis.url or "memory://",
        RATELIMIT_KEY_PREFIX="idp",
        # Redis gone: the limits count in this process's memory (Flask-Limiter logs the switch once and goes
        # back to Redis when it answers again) instead of every limited POST failing; the database lockout counts
        # on. A Redis that hangs is given up after a few seconds.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,  # what the fallback does not cover (a count after the response): logged
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT}
        if settings.redis.url else {},
        PROPAGATE_EXCEPTIONS=False,
    )

    app.extensions["idp.settings"] = settings
    crypto = Crypto(settings.server.field_encryption_keys(), settings.server.hash_key)
    app.extensions["idp.crypto"] = crypto
    app.extensions["idp.keys"] = KeyRing(crypto, ttl=settings.keys.refresh_seconds)
    app.extensions["idp.discovery"] = discovery.encode(discovery.build(settings))

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resources.folder("migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    if not resources.installed():  # a wheel has its catalogs compiled when it was built
        i18n.ensure_compiled()
    babel.init_app(app, locale_selector=site.select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    app.extensions["idp.oauth_server"] = server.build(app)
    warm_up(settings.passwords.bcrypt_rounds)

    site.install(app)
    observability.install(app)
    app.wsgi_app = PublicDocuments(app, app.wsgi_app, site.SECURITY_HEADERS, site.HSTS)
    if settings.server.proxy_hops:  # outermost, so everything inside sees the client's scheme and address
        hops = settings.server.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
    app.wsgi_app = logs.RequestId(app.wsgi_app)  # outermost: every line of the request carries its id
    for blueprint in (oidc.bp, sign_in.bp, logout.bp, account.bp, admin.bp, activation.bp, reset.bp,
                      registration.bp, branding.bp, scim.bp, observability.bp):
        app.register_blueprint(blueprint)
    app.context_processor(branding.brand)
    if settings.server.dev_mode:  # the development inbox: in production /dev/inbox is a plain 404
        app.register_blueprint(inbox.bp)
    register_commands(app)
    with app.app_context():  # declared portals checked by the registry's rules: a bad one stops start-up here
        declared.validate(settings)
    return app


# Seconds to wait for PostgreSQL to accept a connection, or Redis to answer, before calling it unreachable: a
# health check or a sign-in during an outage answers (not ready, a clear page) instead of hanging.
DATABASE_CONNECT_TIMEOUT = 5
REDIS_TIMEOUT = 3


def engine_options(url: str) -> dict:
    """Connections are tested when taken from the pool (a database restart leaves dead ones behind); PostgreSQL
    gets a connect timeout unless the URL names its own. A database error does not show its statement's values
    (an address, a hash, a ciphertext): it reaches the server log with its traceback."""
    options: dict = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith(("postgresql", "postgres")) and "connect_timeout" not in url:
        options["connect_args"] = {"connect_timeout": DATABASE_CONNECT_TIMEOUT}
    return options


def _database_url(url: str, instance: Path) -> str:
    """Relative SQLite paths live in the instance folder; a database file is made owner-only before SQLite
    opens it (its journal and WAL files take the same mode)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or ":memory:" in url or "?" in url:  # not a plain file path: left as given
        return url
    path = Path(url[len(prefix):])
    if not path.is_absolute():
        path = private_folder(instance) / path
    private_file(path)
    return prefix + str(path)
