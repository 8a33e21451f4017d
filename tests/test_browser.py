"""The site in a real browser: Debian's headless Chromium driven by Playwright.

A starter and an approver walk Hello World through the real pages with
JavaScript turned off (the site must not need it); screenshots of the pages a
reviewer wants to see are written to ``test-output/screenshots/``.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from helloworld.models import HelloWorldProcess
from viewflow.status import ProcessStatus, TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = os.environ.get("VIEWFLOW_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium (make test does).")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # tests (and the database fixtures) make beside it are plain synchronous ones.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def people(user_factory):
    view = "helloworld.view_helloworldprocess"
    return {
        "starter": user_factory("starter", "helloworld.can_start_helloworldprocess", view),
        "approver": user_factory("approver", "helloworld.can_approve_helloworldprocess", view),
    }


def log_in(browser, live_server, username, javascript=False, **context_options):
    """A new browser context logged in through the login page; returns its page."""
    context = browser.new_context(java_script_enabled=javascript, **context_options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/flows/inbox/")
    assert "/flows/login/" in page.url  # anonymous visitors are sent to log in
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", username)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/flows/inbox/$"))
    return page


def shot(page, name):
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_hello_world_walked_in_a_browser_without_javascript(browser, live_server, people):
    starter = log_in(browser, live_server, "starter")
    starter.click("nav >> text=Flows")
    shot(starter, "flow-list")
    starter.click("text=Hello world")
    starter.click("a:has-text('Start')")
    starter.fill("textarea[name=text], input[name=text]", "Hello from the browser")
    shot(starter, "start-form")
    starter.click("button:has-text('Start')")
    starter.wait_for_selector(".alert-success")
    assert "started" in starter.inner_text(".alert-success")
    process = HelloWorldProcess.objects.get(text="Hello from the browser")
    assert process.status == ProcessStatus.STARTED
    assert starter.url.endswith(f"/flows/helloworld/{process.pk}/")
    # the chart marks the start as done and the approval as the current task
    assert starter.get_attribute("[data-node=start]", "class").split()[-1] == "done"
    assert starter.get_attribute("[data-node=approve]", "class").split()[-1] == "active"
    shot(starter, "process-detail-active")

    approver = log_in(browser, live_server, "approver")
    assert approver.inner_text("[data-count=queue]") == "1"
    approver.click("nav >> text=Queue")
    shot(approver, "queue")
    approver.click("a:has-text('Claim')")
    approver.click("button:has-text('Claim this task')")  # the confirmation page
    approver.wait_for_selector("input[name=approved]")
    assert "assigned to you" in approver.inner_text(".alert-success")

    approver.click("nav >> text=Inbox")
    assert approver.inner_text("[data-count=inbox]") == "1"
    assert "Approve" in approver.inner_text("table")
    shot(approver, "inbox")
    approver.click("a:has-text('Open')")
    shot(approver, "task-form")
    approver.check("input[name=approved]")
    approver.click("button:has-text('Done')")
    # no next task of this process for the approver: back to the inbox, with a message
    approver.wait_for_url(re.compile(r".*/flows/inbox/$"))
    assert "is done" in approver.inner_text(".alert-success")
    assert approver.inner_text("[data-count=inbox]") == "0"

    process.refresh_from_db()
    assert process.status == ProcessStatus.DONE and process.approved is True
    assert not process.task_set.exclude(status=TaskStatus.DONE).exists()

    approver.click("nav >> text=Archive")
    shot(approver, "archive")
    approver.click(f"td a[href$='/flows/helloworld/{process.pk}/']")
    assert "Done" in approver.inner_text("h1")
    history = approver.inner_text(".vf-history")
    assert "approver" in history and "Send" in history
    assert approver.get_attribute("[data-node=end]", "class").split()[-1] == "done"
    # the chart shows the way the process went: approved, so sent, not straight to the end
    assert "taken" in approver.get_attribute("[data-edge=check_approve-send]", "class")
    assert "taken" not in approver.get_attribute("[data-edge=check_approve-end]", "class")
    shot(approver, "process-detail-done")
    approver.context.close()
    starter.context.close()


def test_pages_fit_a_phone_screen(browser, live_server, people, client_for):
    starter = client_for(people["starter"])
    text = "A request with a rather long text, to see how it wraps on a phone"
    assert starter.post("/flows/helloworld/start/", {"text": text}).status_code == 302
    phone = log_in(browser, live_server, "approver", javascript=True, viewport={"width": 390, "height": 844})
    for path, name in [("/flows/queue/", "phone-queue"), ("/flows/helloworld/", "phone-process-list")]:
        phone.goto(live_server.url + path)
        shot(phone, name)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a phone"
    phone.context.close()


def test_a_double_click_on_start_starts_one_process(browser, live_server, people, monkeypatch):
    """Clicking Start twice on a slow server posted the form twice: two processes."""
    import time

    from viewflow.views.mixins import StartViewMixin

    dispatch = StartViewMixin.dispatch

    def slow_dispatch(self, request, *args, **kwargs):
        if request.method == "POST":
            time.sleep(0.6)
        return dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(StartViewMixin, "dispatch", slow_dispatch)
    starter = log_in(browser, live_server, "starter", javascript=True)
    starter.goto(f"{live_server.url}/flows/helloworld/start/")
    starter.fill("input[name=text]", "Twice")
    box = starter.locator("button:has-text('Start')").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    starter.mouse.click(x, y)  # a person's impatient second click
    starter.wait_for_timeout(150)
    starter.mouse.click(x, y)
    starter.wait_for_selector(".alert-success")
    starter.wait_for_timeout(1500)  # a second request would be done by now
    assert HelloWorldProcess.objects.filter(text="Twice").count() == 1


def test_layout_and_inline_formset_in_a_browser(browser, live_server, user_factory):
    from tests.testapp.models import SampleProcess
    from tests.testapp.site_flows import SiteOrderFlow

    user_factory("clerk", "testapp.add_sampleprocess", "testapp.change_sampleprocess", "testapp.view_sampleprocess")
    clerk = log_in(browser, live_server, "clerk")
    clerk.goto(f"{live_server.url}/flows/{SiteOrderFlow.flow_label}/start/")
    clerk.fill("[name=text]", "Order with lines")
    clerk.fill("[name=lines-0-name]", "bolts")
    clerk.fill("[name=lines-0-quantity]", "12")
    clerk.fill("[name=lines-1-name]", "nuts")
    clerk.fill("[name=lines-1-quantity]", "")
    clerk.click("button:has-text('Start')")
    # an invalid line: the page comes back with the error next to it, the other values kept
    assert clerk.input_value("[name=lines-0-name]") == "bolts"
    assert clerk.locator(".vf-inline .is-invalid").count() == 1
    shot(clerk, "inline-formset")
    clerk.fill("[name=lines-1-quantity]", "30")
    clerk.click("button:has-text('Start')")
    clerk.click("button:has-text('Claim this task')")  # the clerk may do the next task: straight to it
    clerk.fill("[name=count]", "42")
    shot(clerk, "layout-form")
    box = {name: clerk.locator(f"[name={name}]").bounding_box() for name in ("text", "count")}
    assert abs(box["text"]["y"] - box["count"]["y"]) < 2  # one row: side by side on a desktop
    assert box["text"]["width"] > 1.5 * box["count"]["width"]  # Span8 beside Span4
    clerk.click("button:has-text('Done')")
    assert "next task" in clerk.inner_text(".alert-success")
    process = SampleProcess.objects.get(text="Order with lines")
    assert sorted(process.lines.values_list("name", "quantity")) == [("bolts", 12), ("nuts", 30)]
    assert process.count == 42
    clerk.context.close()
