"""The Content-Security-Policy in a real browser: Vouch's own pages run without a
single violation (every browser test checks that, see conftest.login_as), and
script or style injected into a page is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from tests.browser.conftest import LoginAs

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_injected_inline_script_and_style_are_refused(
    login_as: LoginAs, clerk: User, request: pytest.FixtureRequest
) -> None:
    request.node.csp_violations_expected = True
    page = login_as(clerk)
    expect(page.locator("h1")).to_be_visible()
    reported = page.evaluate(
        """() => new Promise((resolve) => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", (event) => {
                seen.push(event.violatedDirective);
                if (seen.length === 2) resolve(seen);
            });
            const script = document.createElement("script");
            script.textContent = "window.__injected = true;";
            document.body.append(script);
            const holder = document.createElement("div");
            holder.innerHTML = '<p style="color: red">x</p>';
            document.body.append(holder);
            setTimeout(() => resolve(seen), 3000);
        })"""
    )
    assert page.evaluate("window.__injected === undefined")
    assert sorted(reported) == ["script-src-elem", "style-src-attr"]


def test_vouchs_own_pages_load_without_a_violation(
    login_as: LoginAs, clerk: User
) -> None:
    page = login_as(clerk)
    for path in ("/documents/", "/documents/upload/", "/queue/mine/"):
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
    # login_as fails the test at teardown on any reported violation.
