"""The dashboard in Debian's Chromium, driven by Playwright, over the real demo campaign:
served by uvicorn on a free local port, exactly as `corral serve` serves it."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright
from web_helpers import (
    TOKEN,
    Demo,
    HeldCampaign,
    artifacts_dir,
    chromium_args,
    plan_mix_campaign,
)

from corral.states import JobState
from corral.store import Store

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url(app: FastAPI) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=chromium_args()
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(artifacts_dir() / f"{name}.png"), full_page=True)


def _sign_in(page: Page, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("input[name=name]", "browser-tester")
    page.fill("input[name=token]", TOKEN)
    page.click("#login button")
    page.wait_for_url(f"**{next_path}")


def test_campaigns_page_lists_the_demo(page: Page) -> None:
    page.goto("/")
    row = page.locator("tr[data-campaign=demo]")
    expect(row).to_contain_text("PR open 3")
    expect(row).to_contain_text("no PR 2")
    expect(row).to_contain_text("5/5")
    _shot(page, "campaigns")


def test_campaign_page_shows_the_counts_and_the_burndown(page: Page) -> None:
    page.goto("/")
    page.click("tr[data-campaign=demo] a")
    expect(page.locator("h1")).to_have_text("demo")
    expect(page.locator("[data-category=pr-open] b")).to_have_text("3")
    expect(page.locator("[data-category=no-pr] b")).to_have_text("2")
    expect(page.locator("[data-category=no-pr]")).to_contain_text("gate vetoed: 2")
    expect(page.locator("[data-category=merged] b")).to_have_text("0")
    chart = page.locator("#burndown svg.burndown")
    expect(chart.locator("polygon.series")).to_have_count(4)
    expect(chart.locator(".legend-open")).to_have_text("PR open: 3")
    expect(chart.locator(".legend-ended")).to_have_text("ended without merge: 2")
    page.wait_for_function(
        "document.querySelector('#burndown svg').getBoundingClientRect().height > 100"
    )
    expect(page.locator("#vetoes")).to_contain_text("judge did not run")
    expect(page.locator("#jobs tbody tr")).to_have_count(5)
    _shot(page, "campaign")

    page.click("#state-filter a[href$='state=failed']")
    expect(page).to_have_url(re.compile(r"state=failed"))
    expect(page.locator("#jobs tbody tr")).to_have_count(2)
    expect(page.locator("#jobs")).to_contain_text("gate vetoed (guard)")


def test_job_page_shows_its_timeline_findings_and_diff(page: Page, demo: Demo) -> None:
    page.goto(f"/jobs/{demo.job('reports-py').id}")
    timeline = page.locator("#timeline")
    for kind in ("transition", "verifier", "tool_call", "gate"):
        expect(timeline.locator(f"tr[data-kind={kind}]").first).to_be_visible()
    expect(timeline.locator("tr[data-kind=gate]")).to_contain_text("gate failed at guard")
    expect(page.locator("#findings")).to_contain_text("tests-deleted")
    diff = page.locator("#diff")
    expect(diff).to_contain_text("tests/test_calc_old.py")
    expect(diff.locator("tr.line.added").first).to_contain_text(
        "# SPDX-License-Identifier: Apache-2.0"
    )
    expect(diff.locator("tr.line.removed").first).to_be_visible()
    _shot(page, "job")


def test_approving_a_held_job_in_the_browser_releases_it(
    page: Page, demo_store: Store, hold_campaign: Callable[[str], HeldCampaign]
) -> None:
    held = hold_campaign("browser-held")
    _sign_in(page, f"/jobs/{held.job_id}")
    expect(page.locator("#approval")).to_contain_text("waits for your approval")
    expect(page.locator("#diff")).to_contain_text("Signed off by the release team.")
    _shot(page, "job-awaiting-approval")
    page.click("#approve")
    # The engine, polling the store, pushes and opens the PR; the page follows by itself.
    expect(page.locator("#job-live")).to_have_attribute("data-state", "pr_open", timeout=60_000)
    expect(page.locator("#job-live")).to_contain_text("approved by browser-tester")
    held.wait_until_done()
    assert demo_store.job(held.job_id).state == JobState.PR_OPEN
    _shot(page, "job-approved")


def test_writes_without_the_token_are_refused(
    page: Page, demo_store: Store, hold_campaign: Callable[[str], HeldCampaign]
) -> None:
    held = hold_campaign("browser-refused")
    page.goto(f"/jobs/{held.job_id}")
    expect(page.locator("#approval")).to_contain_text("Sign in")
    expect(page.locator("#approve")).to_have_count(0)
    post = """([url, fields]) => fetch(url, {method: "POST", body: new URLSearchParams(fields)})
        .then(async r => [r.status, await r.text()])"""
    status, body = page.evaluate(post, [f"/jobs/{held.job_id}/approve", {}])
    assert status == 401 and "sign in" in body
    status, _ = page.evaluate(post, [f"/api/jobs/{held.job_id}/approve", {}])
    assert status in (401, 422)

    _sign_in(page, f"/jobs/{held.job_id}")  # signed in, a form still needs its CSRF token
    status, body = page.evaluate(post, [f"/jobs/{held.job_id}/approve", {"csrf_token": "forged"}])
    assert status == 403 and "CSRF" in body

    # Another site posting the right form with the victim's cookie is refused too.
    csrf = page.locator("#approval input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(
        f"/jobs/{held.job_id}/approve",
        form={"csrf_token": csrf or ""},
        headers={"Origin": "http://evil.example"},
        max_redirects=0,
    )
    assert response.status == 403
    assert "another site" in response.text()
    assert demo_store.approvals(held.job_id) == []
    assert demo_store.job(held.job_id).state == JobState.AWAITING_APPROVAL
    page.fill("#approval input[name=reason]", "refused test: clean up")
    page.click("#reject")
    held.wait_until_done()
    assert demo_store.job(held.job_id).state == JobState.FAILED


def test_the_plan_page_shows_each_repositorys_readiness(
    page: Page, demo_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRAL_WORK_DIR", str(tmp_path / "work"))
    campaign_id = plan_mix_campaign(demo_store, tmp_path / "forge", "browser-plan")
    page.goto(f"/campaigns/{campaign_id}")
    page.click("#plan-link")
    expect(page.locator("#plan-control")).to_contain_text("Sign in")
    expect(page.locator("#plan-run")).to_have_count(0)

    _sign_in(page, f"/campaigns/{campaign_id}/plan")
    page.click("#plan-run")
    rows = page.locator("#plan tbody tr")
    expect(rows).to_have_count(4)
    for name, verdict in [("ready", "ready"), ("plain", "unsupported"),
                          ("gone", "unreachable"), ("legacy", "not_targeted")]:  # fmt: skip
        expect(page.locator(f"#plan tr[data-repo={name}]")).to_have_attribute(
            "data-verdict", verdict
        )
    expect(page.locator("#plan tr[data-repo=ready]")).to_contain_text("notes")
    expect(page.locator("#plan tr[data-repo=gone]")).to_contain_text("does not clone")
    expect(page.locator("#plan tr[data-repo=legacy]")).to_contain_text("exclude_has_file")
    expect(page.locator("#plan-summary")).to_contain_text("1 of 4 repositories ready")
    expect(page.locator("#plan-summary")).to_have_attribute("data-ready", "no")
    _shot(page, "plan")
