"""Security headers on every kind of response (pages, the API, the login page, static
files), the OpenAPI schema and docs behind sign-in, and templates that need no inline
script or style (what the Content-Security-Policy refuses)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.templatetags.static import static
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def csp(response) -> dict[str, str]:
    """The policy's directives: {"script-src": "'self'", …}."""
    policy = response["Content-Security-Policy"]
    directives = [d.strip().split(None, 1) for d in policy.split(";") if d.strip()]
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def assert_common_headers(response) -> None:
    policy = csp(response)
    assert policy == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    features = {f.strip() for f in response["Permissions-Policy"].split(",")}
    assert {"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"} <= features
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/", "/opportunities/", "/attention/"])
def test_a_signed_in_page_is_never_stored(client, rep, url):
    client.force_login(rep)
    response = client.get(url, follow=True)
    assert response.status_code == 200
    assert_common_headers(response)
    assert response["Cache-Control"] == "no-store"


def test_a_page_that_sets_its_own_caching_keeps_it(client, rep):
    """The favicon is the same for everyone and says so: signed in or not, it is cached."""
    client.force_login(rep)
    response = client.get("/favicon.ico")
    assert_common_headers(response)
    assert response["Cache-Control"] == "public, max-age=86400"


def test_the_login_page_keeps_its_own_cache_headers(client, rep):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_common_headers(response)
    # Django's own never_cache (the login view's), not ours: no signed-in user yet.
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


@pytest.mark.parametrize("signed_in", [False, True])
def test_static_files_stay_cacheable(client, rep, signed_in):
    if signed_in:
        client.force_login(rep)
    response = client.get(static("css/salesops.css"))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" not in response.get("Cache-Control", "")


def test_api_responses_are_never_stored(rep, opportunity, key_for):
    client = key_for(rep)
    listing = client.get("/api/v1/opportunities/")
    assert listing.status_code == 200
    assert_common_headers(listing)
    assert listing["Cache-Control"] == "no-store"
    refused = APIClient().get("/api/v1/opportunities/")
    assert refused.status_code == 401 and refused["Cache-Control"] == "no-store"


def test_etags_and_conditional_writes_still_work(rep, opportunity, key_for):
    client = key_for(rep)
    read = client.get(f"/api/v1/opportunities/{opportunity.pk}/")
    assert read["Cache-Control"] == "no-store" and read["ETag"] == f'"{opportunity.version}"'
    stale = client.patch(
        f"/api/v1/opportunities/{opportunity.pk}/",
        {"name": "Acme renamed"},
        format="json",
        HTTP_IF_MATCH=f'"{opportunity.version + 1}"',
    )
    assert stale.status_code == 412
    fresh = client.patch(
        f"/api/v1/opportunities/{opportunity.pk}/",
        {"name": "Acme renamed"},
        format="json",
        HTTP_IF_MATCH=read["ETag"],
    )
    assert fresh.status_code == 200 and fresh["Cache-Control"] == "no-store"


# --- the schema and the docs --------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "application/yaml", "application/vnd.oai.openapi"])
def test_the_schema_refuses_anonymous_callers_in_json(db, accept):
    response = APIClient().get("/api/v1/schema/", **({"HTTP_ACCEPT": accept} if accept else {}))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == "not_authenticated"
    assert b"openapi" not in response.content


def test_the_schema_with_a_key_or_a_session(client, rep, key_for):
    with_key = key_for(rep, scopes=["read"]).get("/api/v1/schema/")
    assert with_key.status_code == 200 and b"/api/v1/opportunities/" in with_key.content
    assert with_key["Cache-Control"] == "no-store"
    client.force_login(rep)
    assert client.get("/api/v1/schema/").status_code == 200


def test_the_docs_send_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/v1/docs/"


def test_the_docs_need_no_inline_script_or_style(client, rep):
    client.force_login(rep)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert_common_headers(response)
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts), scripts
    assert "<style" not in html and "style=" not in html
    assert "cdn." not in html and "unpkg" not in html and "drf_spectacular_sidecar" in html
    # The script that starts Swagger UI: a file of its own, from us, for this user.
    src = re.search(r'<script src="(/api/v1/docs/\?[^"]*script=[^"]*)"', html)
    assert src, scripts
    script = client.get(src.group(1).replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content and b"/api/v1/schema/" in script.content


@override_settings(API_SCHEMA_PUBLIC=True)
def test_a_public_schema_is_a_setting(client, db):
    assert APIClient().get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200


# --- templates the policy lets run ----------------------------------------------------------

INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)


def template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_templates_have_no_inline_script_handler_or_style():
    """script-src and style-src are 'self': an inline <script>, onclick=/onsubmit=… or a
    style="" attribute would be refused by the browser (behaviour lives in static/js,
    looks in static/css). JSON in <script type="application/json"> is data: allowed."""
    problems = []
    for path in template_files():
        text = path.read_text()
        where = path.relative_to(TEMPLATES)
        problems += [f"{where}: {m.group(0)[:80]}" for m in INLINE_HANDLER.finditer(text)]
        problems += [f"{where}: {m.group(0)[:80]}" for m in STYLE_ATTRIBUTE.finditer(text)]
        for tag in SCRIPT_TAG.finditer(text):
            if "src=" not in tag.group(0) and "application/json" not in tag.group(0):
                problems.append(f"{where}: {tag.group(0)}")
        if "<style" in text or "javascript:" in text:
            problems.append(f"{where}: <style> or javascript: URL")
    assert not problems, "\n".join(problems)


def test_a_destructive_form_asks_through_data_confirm():
    """The two forms that delete for good ask first (static/js/salesops.js reads data-confirm)."""
    for name in ["hiring/candidate.html", "exchange/batch_detail.html"]:
        assert "data-confirm=" in (TEMPLATES / name).read_text(), name
    assert "data-confirm" in (Path(settings.BASE_DIR) / "static/js/salesops.js").read_text()
