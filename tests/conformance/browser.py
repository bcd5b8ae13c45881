"""The person's browser: a requests.Session that follows the provider's own pages and forms.

It never requests a portal's redirect_uri: it stops at the Location that points there, the way a
browser's address bar would show the callback a portal then handles.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from tests.conformance.live import EMAIL, PASSWORD

_CSRF = re.compile(r'name="csrf_token"\s+value="([^"]+)"')
_STAGE = re.compile(r'name="stage"\s+value="([^"]+)"')


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL; a parameter sent twice is a protocol error here."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    doubled = [k for k, v in parsed.items() if len(v) > 1]
    assert not doubled, f"parameters sent twice in {url}: {doubled}"
    return {k: v[0] for k, v in parsed.items()}


class Browser:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.http = requests.Session()

    def _csrf(self, html: str) -> str:
        match = _CSRF.search(html)
        assert match, "the sign-in page has no CSRF token"
        return match.group(1)

    def visit(self, url: str, stop_at: str) -> requests.Response | str:
        """Follow the provider's redirects; return the URL once it leaves for `stop_at`, else the page."""
        response = self.http.get(url, allow_redirects=False, timeout=10)
        while response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            if target.startswith(stop_at):
                return target
            assert target.startswith(self.issuer + "/"), f"redirected off the provider to {target}"
            response = self.http.get(target, allow_redirects=False, timeout=10)
        return response

    def submit(self, page: requests.Response, stop_at: str, **fields: str) -> requests.Response | str:
        """Post the page's form (with its CSRF token) back to where it came from; follow as visit()."""
        data = {"csrf_token": self._csrf(page.text), **fields}
        response = self.http.post(page.url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            return target if target.startswith(stop_at) else self.visit(target, stop_at)
        return response

    def sign_in(self, authorization_url: str, redirect_uri: str, email: str = EMAIL,
                password: str = PASSWORD) -> str:
        """Open the portal's authorization URL, sign in with a password, return the callback URL."""
        result = self.visit(authorization_url, redirect_uri)
        while not isinstance(result, str):
            assert result.status_code == 200, f"{result.status_code} at {result.url}: {result.text[:500]}"
            assert urlsplit(result.url).path.startswith("/login/"), f"unexpected page {result.url}"
            stage = _STAGE.search(result.text)
            assert stage, f"no sign-in stage on {result.url}"
            if stage.group(1) == "password":
                result = self.submit(result, redirect_uri, stage="password", username=email, password=password)
            else:
                result = self.submit(result, redirect_uri, stage=stage.group(1), decision="allow")
        return result
