"""Issue #14, item 11: security headers on every answer (core.security_headers, Django's
SecurityMiddleware) and a Content-Security-Policy without 'unsafe-inline': no template or
rendered page carries an inline script, style block, style attribute or event handler."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.security]

ROOT = Path(settings.BASE_DIR)
# An inline script (a <script> without src; JSON data blocks excepted), a style block or
# attribute, an inline event handler or a javascript: URL.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>|<style[\s>]|\sstyle=|\son[a-z]+=|javascript:",
    re.IGNORECASE,
)


@pytest.mark.parametrize("path", ["/", "/login/", "/signup/", "/api/v1/concerts", "/admin/login/", "/api/docs/"])
def test_every_answer_carries_the_security_headers(client: Client, path: str):
    response = client.get(path)

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_no_template_of_the_project_has_inline_script_or_style():
    templates = [
        path
        for path in ROOT.rglob("*.html")
        if not {".venv", "node_modules", "staticfiles", "var", "artifacts"} & set(path.relative_to(ROOT).parts)
    ]
    assert len(templates) > 10

    found = {str(path.relative_to(ROOT)): INLINE.findall(path.read_text()) for path in templates}

    assert {path: hits for path, hits in found.items() if hits} == {}


def test_rendered_pages_have_no_inline_script_or_style():
    organizer = Client()
    organizer.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages = {
        "/": Client().get("/"),
        "/login/": Client().get("/login/"),
        "/api/docs/": Client().get("/api/docs/"),
        "/admin/concerts/venue/add/": organizer.get("/admin/concerts/venue/add/"),
    }

    for path, response in pages.items():
        assert response.status_code == 200, path
        assert INLINE.findall(response.content.decode()) == [], path


def test_the_api_docs_load_their_script_from_a_file(client: Client):
    page = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page).group(1).replace("&amp;", "&")

    script = client.get(script_url)

    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
