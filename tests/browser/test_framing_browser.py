"""Issue 18: a page of another origin that frames the sign-in page gets a blocked frame in a real Chromium: the
frame never shows the password form (frame-ancestors 'none', X-Frame-Options DENY), while the same page opened
on its own works."""

from __future__ import annotations

import html

import pytest

from tests.conformance.live import ServerThread

pytestmark = pytest.mark.slow


def _attacker(target: str) -> ServerThread:
    """Another origin (another port) serving a page that frames `target` full-size."""
    body = (f'<!doctype html><title>Win a prize</title><iframe id="victim" src="{html.escape(target)}" '
            'width="800" height="600"></iframe>').encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body]

    server = ServerThread()
    server.serve(app)
    return server


def test_a_cross_origin_page_cannot_frame_the_sign_in_page(page, provider, portal):
    page.goto(portal.url + "/")
    page.get_by_role("link", name="Inloggen").first.click()
    page.wait_for_url(provider.issuer + "/login/**")
    sign_in = page.url
    assert page.locator("#password").count() == 1  # on its own, the page works

    attacker = _attacker(sign_in)
    try:
        page.goto(f"http://127.0.0.1:{attacker.port}/")
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        [framed] = [f for f in page.frames if f != page.main_frame]
        assert not framed.url.startswith(provider.issuer + "/login/")  # Chromium shows its own error instead
        assert framed.locator("#password").count() == 0
        assert framed.locator("form").count() == 0
        refusals = [e for e in page.console_errors if "frame-ancestors" in e or "Refused to display" in e]
        assert refusals, page.console_errors  # Chromium says why
        page.console_errors.clear()  # the refusal is the expected console error of this page
    finally:
        attacker.stop()
