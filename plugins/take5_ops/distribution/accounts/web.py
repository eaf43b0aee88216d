"""The accounts server: a Starlette app (:func:`create_app`).

Browser pages use a signed session cookie (``take5_session``, SameSite=Lax, HttpOnly) and a CSRF
token in every form; scripts send ``Authorization: Bearer <token>``. ``POST /orders`` takes the
cart JSON (from the website, cross-origin with the session cookie, or from a script with a token)
and answers a Metalink whose URLs are presigned for 7 days. Every input is checked: a 4xx names
the field (JSON ``{"detail", "field"}`` for the API, the message on the page for forms).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from take5_ops.distribution.accounts import credentials, pages, validation
from take5_ops.distribution.accounts.db import Account, AccountsDB
from take5_ops.distribution.accounts.limits import RateLimiter
from take5_ops.distribution.accounts.orders import metalink, prepare
from take5_ops.distribution.accounts.settings import Settings, origin
from take5_ops.distribution.accounts.stats import write_stats
from take5_ops.distribution.metalink import MEDIA_TYPE
from take5_ops.errors import FieldError
from take5_ops.storage import S3Store

log = logging.getLogger(__name__)

FORM_MAX = 64 * 1024
CART_BYTES_MAX = 2 * 1024 * 1024
SESSION_COOKIE = "take5_session"


class HTTPFieldError(Exception):
    """A refusal: status, the field at fault and why."""

    def __init__(self, status: int, field: str, message: str, headers: dict | None = None):
        super().__init__(f"{field}: {message}")
        self.status, self.field, self.message, self.headers = status, field, message, headers or {}


def _now() -> datetime:
    return datetime.now(UTC)


def _licence_ok(account: Account, settings: Settings) -> bool:
    return account.licence_version == settings.licence.version


class App:
    """The routes, over one :class:`AccountsDB`, the distribution and work buckets and the rate limits."""

    def __init__(self, settings: Settings, db: AccountsDB | None = None):
        self.settings = settings
        self.db = db or AccountsDB(settings.database_url)
        self.dist = S3Store.from_endpoint(settings.dist_bucket, settings.s3_endpoint)
        self.work = S3Store.from_endpoint(settings.work_bucket, settings.s3_endpoint)
        self.attempts = RateLimiter(*settings.attempt_limit)  # sign-ups and sign-ins, per client address
        self.failures = RateLimiter(*settings.signin_limit)  # failed sign-ins, per e-mail
        self.own_origin = origin(settings.public_url)

    # -- who is asking ---------------------------------------------------------------------------------------------
    def session_account(self, request: Request) -> Account | None:
        account_id = request.session.get("account")
        if not isinstance(account_id, int):
            return None
        account = self.db.account(id=account_id)
        if account is None or account.disabled_at is not None:
            request.session.clear()
            return None
        return account

    def api_account(self, request: Request) -> tuple[Account, str]:
        """The account of an API call and how it came (``token`` or ``session``); 401 when neither."""
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise HTTPFieldError(401, "Authorization", "expected 'Bearer <API token>'",
                                     {"WWW-Authenticate": "Bearer"})
            account = self.db.account_of_token(credentials.token_hash(token.strip()))
            if account is None or account.disabled_at is not None:
                raise HTTPFieldError(401, "Authorization", "unknown, revoked or expired API token",
                                     {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return account, "token"
        account = self.session_account(request)
        if account is None:
            raise HTTPFieldError(401, "Authorization", "sign in, or send an API token (Authorization: Bearer ...)",
                                 {"WWW-Authenticate": "Bearer"})
        sent_from = request.headers.get("origin")
        if sent_from is not None and sent_from not in (self.own_origin, *self.settings.website_origins):
            raise HTTPFieldError(403, "Origin", f"{sent_from} may not order with a session cookie")
        return account, "session"

    # -- forms -----------------------------------------------------------------------------------------------------
    @staticmethod
    def csrf(request: Request) -> str:
        token = request.session.get("csrf")
        if not isinstance(token, str):
            token = request.session["csrf"] = secrets.token_urlsafe(32)
        return token

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form (url-encoded or multipart, text fields only), its CSRF token checked."""
        if int(request.headers.get("content-length") or 0) > FORM_MAX:
            raise HTTPFieldError(413, "body", f"form larger than {FORM_MAX} bytes")
        async with request.form(max_files=0, max_fields=20) as data:
            form = {k: v for k, v in data.items() if isinstance(v, str)}
        expected = request.session.get("csrf")
        if not isinstance(expected, str) or not hmac.compare_digest(form.get("csrf_token", ""), expected):
            raise HTTPFieldError(403, "csrf_token", "missing or stale form token: reload the page and try again")
        return form

    def admit(self, request: Request) -> None:
        """Count a sign-up or sign-in attempt of the client's address; 429 past the limit (not counted)."""
        address = request.client.host if request.client else "?"
        wait = self.attempts.retry_after(address)
        if wait:
            raise HTTPFieldError(429, "address", f"too many sign-up or sign-in attempts from {address}: "
                                 f"try again in {wait} s", {"Retry-After": str(wait)})
        self.attempts.hit(address)

    def form_error(self, request: Request, name: str, title: str, exc: HTTPFieldError, email) -> HTMLResponse:
        """The form page again, with the refusal's status, message, field and headers."""
        response = self.page(request, name, title, exc.status, error=exc.message, error_field=exc.field, email=email)
        response.headers.update(exc.headers)
        return response

    def page(self, request: Request, name: str, title: str, status: int = 200, **context) -> HTMLResponse:
        html = pages.render(name, title=title, base="", csrf=self.csrf(request), licence=self.settings.licence,
                            expiry_days=self.settings.order_expires // 86400, password_min=validation.PASSWORD_MIN,
                            **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def account_page(self, request: Request, account: Account, status: int = 200, **context) -> HTMLResponse:
        tokens = self.db.tokens(account.id)
        now = _now()
        return self.page(request, "account", "Your account", status, account=account, tokens=tokens, now=now,
                         live_tokens=sum(1 for t in tokens if t.revoked_at is None and t.expires_at > now),
                         orders=self.db.orders(account.id), licence_ok=_licence_ok(account, self.settings),
                         order_url=self.settings.order_url, expiry=timedelta(seconds=self.settings.order_expires),
                         **context)

    # -- routes ----------------------------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        account = self.session_account(request)
        if account is None:
            return RedirectResponse("/signin", status_code=303)
        return self.account_page(request, account)

    async def signup(self, request: Request) -> Response:
        if request.method == "GET":
            return self.page(request, "signup", "Sign up")
        email = None
        try:
            form = await self.form(request)
            email = form.get("email")
            self.admit(request)
            email = validation.email(form)
            password = validation.new_password(form)
            version = validation.licence_acceptance(form, self.settings.licence.version)
            hashed = await run_in_threadpool(credentials.hash_password, password)
            account = self.db.create_account(email, hashed, version)
            if account is None:
                raise HTTPFieldError(409, "email", "an account with this e-mail exists: sign in")
        except FieldError as exc:
            return self.page(request, "signup", "Sign up", 422, error=str(exc), error_field=exc.field, email=email)
        except HTTPFieldError as exc:
            return self.form_error(request, "signup", "Sign up", exc, email)
        log.info("account %s signed up (licence %s)", account.email, version)
        self._signed_in(request, account)
        return RedirectResponse("/", status_code=303)

    @staticmethod
    def _signed_in(request: Request, account: Account) -> None:
        request.session.clear()  # a fresh session (and CSRF token) at every sign-in
        request.session.update(account=account.id, csrf=secrets.token_urlsafe(32))

    async def signin(self, request: Request) -> Response:
        if request.method == "GET":
            return self.page(request, "signin", "Sign in")
        email = None
        try:
            form = await self.form(request)
            email = form.get("email")
            self.admit(request)
            email = validation.email(form)
            password = validation.text(form, "password", max_len=validation.PASSWORD_MAX)
            wait = self.failures.retry_after(email)
            if wait:
                raise HTTPFieldError(429, "email", f"too many failed sign-ins: try again in {wait} s",
                                     {"Retry-After": str(wait)})
            account = self.db.account(email=email)
            ok = await run_in_threadpool(credentials.verify_password, account.password_hash if account else None,
                                         password)
            if not ok:
                self.failures.hit(email)
                raise HTTPFieldError(401, "password", "wrong e-mail or password")
            if account.disabled_at is not None:
                raise HTTPFieldError(403, "email", "this account is disabled: write to the operators")
        except FieldError as exc:
            return self.page(request, "signin", "Sign in", 422, error=str(exc), error_field=exc.field, email=email)
        except HTTPFieldError as exc:
            return self.form_error(request, "signin", "Sign in", exc, email)
        self.failures.clear(email)
        if credentials.needs_rehash(account.password_hash):
            self.db.set_password_hash(account.id, await run_in_threadpool(credentials.hash_password, password))
        self._signed_in(request, account)
        return RedirectResponse("/", status_code=303)

    async def signout(self, request: Request) -> Response:
        try:
            await self.form(request)
        except HTTPFieldError as exc:
            return JSONResponse({"detail": exc.message, "field": exc.field}, status_code=exc.status)
        request.session.clear()
        return RedirectResponse("/signin", status_code=303)

    async def licence(self, request: Request) -> Response:
        if request.method == "GET":
            return self.page(request, "licence", f"Data licence, version {self.settings.licence.version}",
                             account=self.session_account(request))
        account = self.session_account(request)
        if account is None:
            return RedirectResponse("/signin", status_code=303)
        try:
            form = await self.form(request)
            version = validation.licence_acceptance(form, self.settings.licence.version)
        except (FieldError, HTTPFieldError) as exc:
            status = exc.status if isinstance(exc, HTTPFieldError) else 422
            return self.account_page(request, account, status, error=str(exc), error_field=exc.field)
        self.db.accept_licence(account.id, version)
        return RedirectResponse("/", status_code=303)

    async def create_token(self, request: Request) -> Response:
        account = self.session_account(request)
        if account is None:
            return RedirectResponse("/signin", status_code=303)
        try:
            form = await self.form(request)
            name, days = validation.token_request(form)
        except (FieldError, HTTPFieldError) as exc:
            status = exc.status if isinstance(exc, HTTPFieldError) else 422
            return self.account_page(request, account, status, error=str(exc), error_field=exc.field)
        token = credentials.new_token()
        self.db.create_token(account.id, name, credentials.token_hash(token), days)
        log.info("account %s: API token %r created (%d days)", account.email, name, days)
        return self.account_page(request, account, new_token=token, new_token_name=name)

    async def revoke_token(self, request: Request) -> Response:
        account = self.session_account(request)
        if account is None:
            return RedirectResponse("/signin", status_code=303)
        try:
            await self.form(request)
            token_id = validation.identifier(request.path_params["token_id"], "token_id")
            if not self.db.revoke_token(account.id, token_id):
                raise HTTPFieldError(404, "token_id", f"no token {token_id} in your account")
        except (FieldError, HTTPFieldError) as exc:
            status = exc.status if isinstance(exc, HTTPFieldError) else 422
            return self.account_page(request, account, status, error=str(exc), error_field=exc.field)
        return RedirectResponse("/", status_code=303)

    async def account_json(self, request: Request) -> Response:
        account, via = self.api_account(request)
        tokens, now = self.db.tokens(account.id), _now()
        return JSONResponse({
            "email": account.email, "via": via, "disabled": account.disabled_at is not None,
            "licence": {"accepted_version": account.licence_version, "current_version": self.settings.licence.version,
                        "accepted": _licence_ok(account, self.settings),
                        "accepted_at": account.licence_accepted_at.isoformat() if account.licence_accepted_at else None},
            "tokens": [{"id": t.id, "name": t.name, "expires_at": t.expires_at.isoformat(),
                        "state": "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "active"}
                       for t in tokens],
            "orders": [{"id": o.id, "created_at": o.created_at.isoformat(), "products": o.products, "files": o.files,
                        "bytes": o.bytes} for o in self.db.orders(account.id)],
        }, headers={"Cache-Control": "no-store"})

    async def order(self, request: Request) -> Response:
        account, via = self.api_account(request)
        if not _licence_ok(account, self.settings):
            raise HTTPFieldError(403, "licence", f"accept the data licence version {self.settings.licence.version} "
                                 f"first (your account page)")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise HTTPFieldError(415, "Content-Type", f"{ctype or 'none'}: send the cart as application/json")
        too_big = HTTPFieldError(413, "body", f"cart larger than {CART_BYTES_MAX} bytes")
        if int(request.headers.get("content-length") or 0) > CART_BYTES_MAX:
            raise too_big
        body = bytearray()
        async for chunk in request.stream():  # read no further than the limit (chunked bodies too)
            body += chunk
            if len(body) > CART_BYTES_MAX:
                raise too_big
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise HTTPFieldError(400, "body", f"not JSON: {exc}") from None
        cart = validation.cart(doc)
        prepared = await run_in_threadpool(prepare, self.dist, cart)
        data = await run_in_threadpool(metalink, self.dist, prepared, self.settings.order_expires)
        order = self.db.record_order(account.id, via, prepared.lines)
        log.info("order %d of %s (%s): %d products, %d files, %d bytes", order.id, account.email, via,
                 order.products, order.files, order.bytes)
        await run_in_threadpool(self.publish_stats)
        return Response(data, media_type=MEDIA_TYPE, headers={
            "Content-Disposition": f'attachment; filename="take5-order-{order.id}.meta4"',
            "Cache-Control": "no-store", "X-Take5-Order": str(order.id)})

    def publish_stats(self) -> None:
        """Rewrite the statistics document of the dashboard; a failure is logged (the next order retries)."""
        try:
            write_stats(self.work, self.db.totals(), _now())
        except Exception:
            log.exception("download statistics not written to %s", self.work.url)

    async def health(self, request: Request) -> Response:
        self.db.account(id=0)
        return JSONResponse({"status": "ok", "licence": self.settings.licence.version})


async def _api_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, FieldError):
        status, field, message, headers = 422, exc.field, exc.message, {}
    else:
        status, field, message, headers = exc.status, exc.field, exc.message, exc.headers
    return JSONResponse({"detail": f"{field}: {message}", "field": field}, status_code=status, headers=headers)


def create_app(settings: Settings, db: AccountsDB | None = None) -> Starlette:
    """The app; its start creates the schema (once) and writes the statistics document."""
    app = App(settings, db)

    @asynccontextmanager
    async def lifespan(_):
        await run_in_threadpool(app.db.create_schema)
        await run_in_threadpool(app.publish_stats)
        log.info("accounts server on %s (licence %s, orders valid %d s, website origins %s)", settings.public_url,
                 settings.licence.version, settings.order_expires, ", ".join(settings.website_origins) or "none")
        yield
        app.db.close()

    routes = [
        Route("/", app.home), Route("/signup", app.signup, methods=["GET", "POST"]),
        Route("/signin", app.signin, methods=["GET", "POST"]), Route("/signout", app.signout, methods=["POST"]),
        Route("/licence", app.licence, methods=["GET", "POST"]), Route("/tokens", app.create_token, methods=["POST"]),
        Route("/tokens/{token_id}/revoke", app.revoke_token, methods=["POST"]),
        Route("/orders", app.order, methods=["POST"]), Route("/api/account", app.account_json),
        Route("/healthz", app.health),
    ]
    middleware = [
        Middleware(CORSMiddleware, allow_origins=list(settings.website_origins), allow_credentials=True,
                   allow_methods=["POST"], allow_headers=["content-type", "authorization"],
                   expose_headers=["content-disposition", "x-take5-order"]),
        Middleware(SessionMiddleware, secret_key=settings.session_secret, session_cookie=SESSION_COOKIE,
                   max_age=settings.session_max_age, same_site="lax", https_only=settings.secure_cookies),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={FieldError: _api_error, HTTPFieldError: _api_error})
