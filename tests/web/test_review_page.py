"""The reviewer's page (/admin/ui) in headless Chromium, against a real gateway and simulator.

Desktop and phone viewports; each state is saved to test-artifacts/web/review-*.png and
checked with axe-core (no serious or critical violations). Assertions are on the DOM.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, ViewportSize, async_playwright, expect

from gateway.conversation import tenant_of
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import GREETING, Message, turn
from tests.e2e.sdk_calls import KEY
from tests.test_admin import OWNER, TOKEN, admin, end_thread
from tests.web.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE
from tests.web.browser import serious_violations as axe_violations

ALIAS = "support-chat-17"
TENANT = tenant_of({"x-api-key": KEY})
CRISIS = "I want to kill myself."
NOTE = "Appeal granted: the questions were for a chemistry exam."
REVIEWER = "reviewer@example.com"
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
PAGE_SIZE = 25  # endings the page asks for at a time (review.js)
HAVE_CHROMIUM = Path(CHROMIUM).is_file()


@dataclass(frozen=True, slots=True)
class Played:
    """What was played through the gateway before the page opens."""

    url: str
    aliased: str
    """The conversation ended first, named by ALIAS."""
    newest: str
    """The conversation ended last."""
    crisis: str
    """A conversation with one crisis turn."""


async def crisis_conversation(server: TestServer) -> str:
    """A greeting, then a turn the gateway answers with crisis resources; returns its id."""
    history: list[Message] = []
    for text in (GREETING, CRISIS):
        status, _, headers = await turn(server, "anthropic", history, text)
        assert status == 200
    return str(headers["X-Conversation-Id"])


@pytest.fixture
async def played(make_gateway: GatewayFactory) -> Played:
    """A gateway with the admin API on, two ended threads (one aliased) and a crisis turn."""
    gateway = await make_gateway(admin_token=TOKEN, policy={"model_can_end": False})
    aliased, _ = await end_thread(
        gateway, "Hello, I have a question.", **{"X-Conversation-Id": ALIAS}
    )
    newest, _ = await end_thread(gateway, "A different thread: what do tulips need?")
    crisis = await crisis_conversation(gateway)
    return Played(base_url(gateway) + "/admin/ui", aliased, newest, crisis)


@pytest.fixture
async def browser_page(request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A page in headless Chromium at the viewport named by the test's `viewport`."""
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test.sh does)")
    size = VIEWPORTS[request.getfixturevalue("viewport")]
    viewport = ViewportSize(width=size["width"], height=size["height"])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale="en-US", viewport=viewport)
            yield await context.new_page()
        finally:
            await browser.close()


async def snap(page: Page, name: str) -> None:
    """Save what the page looks like now."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"review-{name}.png", full_page=True)


async def accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it stands."""
    assert await axe_violations(page) == []


async def column_sum(page: Page, selector: str) -> int:
    """The sum of the numbers the elements matching `selector` show."""
    texts = await page.locator(selector).all_inner_texts()
    return sum(int(text) for text in texts)


async def sign_in(page: Page, token: str = TOKEN) -> None:
    """Give the token, the tenant's hash and the reviewer's name, and sign in."""
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_label("Tenant", exact=True).fill(TENANT)
    await page.get_by_label("Your name, recorded with each unlock").fill(REVIEWER)
    await page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_a_reviewer_reads_endings_opens_a_record_and_unlocks_it(
    played: Played, browser_page: Page, viewport: str
) -> None:
    """Sign in, see endings newest first and the hourly counts, open a record, unlock it
    with a note and see it lifted; the page says no message text is stored."""
    page = browser_page
    await page.goto(played.url)
    await expect(page).to_have_title("Lastword review")
    await expect(page.locator("#no-text")).to_contain_text("No message text is stored")
    await expect(page.get_by_label("Admin token")).to_be_visible()
    await snap(page, f"sign-in-{viewport}")
    await accessible(page)

    await sign_in(page)
    await expect(page.locator("#sign-in")).to_be_hidden()
    rows = page.locator("#endings tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("#endings-heading")).to_be_focused()
    # Newest first: the thread ended last leads, the aliased one follows under its alias.
    await expect(rows.nth(0)).to_contain_text(played.newest)
    await expect(rows.nth(1)).to_contain_text(played.aliased)
    await expect(rows.nth(1).locator("td").nth(2)).to_have_text(ALIAS)
    await expect(rows.nth(0).locator("td").nth(2)).to_have_text("none")
    times = await rows.locator("time").evaluate_all("els => els.map(e => e.dateTime)")
    assert times == sorted(times, reverse=True)
    await expect(rows.nth(1)).to_contain_text("strikes")
    await expect(rows.nth(1)).to_contain_text("weapons_mass_casualty")
    await expect(rows.nth(1).locator("td").nth(5)).to_have_text("no, standing")
    assert "sarin" not in await page.content()  # nothing said reaches the page

    # The last day's hourly counts: both charts, the totals and the table behind them.
    await expect(page.locator("#stats-totals")).to_have_text(
        "2 endings and 1 crisis redirect in the last 24 hours (UTC)."
    )
    await expect(page.locator("#endings-chart .bar")).to_have_count(24)
    await expect(page.locator("#crisis-chart .bar")).to_have_count(24)
    # Summed, not read from the last hour alone: the play may have crossed an hour.
    assert await column_sum(page, "#endings-chart .bar span") == 2
    assert await column_sum(page, "#crisis-chart .bar span") == 1
    await page.get_by_text("The hours as a table").click()
    hours = page.locator("#stats-table tbody tr")
    await expect(hours).to_have_count(24)
    starts = await hours.locator("time").evaluate_all("els => els.map(e => e.dateTime)")
    assert starts == sorted(starts, reverse=True)  # the current hour first
    assert await column_sum(page, "#stats-table tbody td:nth-child(2)") == 2
    assert await column_sum(page, "#stats-table tbody td:nth-child(3)") == 1
    await snap(page, f"endings-{viewport}")
    await accessible(page)

    # The aliased conversation's record: three strikes, a standing ending, no unlocks yet.
    await rows.nth(1).get_by_role("button").click()
    record = page.locator("#record")
    await expect(page.locator("#record-title")).to_have_text(f"Conversation {played.aliased}")
    await expect(page.locator("#record-title")).to_be_focused()
    await expect(page.locator("#record-status")).to_contain_text("Ended")
    await expect(page.locator("#record-alias")).to_have_text(ALIAS)
    await expect(record.locator("#record-strikes tbody tr")).to_have_count(3)
    await expect(record.locator("#record-endings tbody tr")).to_have_count(1)
    await expect(record.locator("#record-unlocks")).to_contain_text("No unlocks.")
    await snap(page, f"record-{viewport}")
    await accessible(page)

    # Unlock with a note: the record shows it lifted, the endings list too.
    await page.get_by_label("Note: why this conversation is unlocked").fill(NOTE)
    await page.get_by_role("button", name=f"Unlock {ALIAS}").click()
    result = page.locator("#unlock-result")
    await expect(result).to_have_text(
        f"Unlocked by {REVIEWER}: 1 ending lifted, earlier strikes forgiven."
    )
    await expect(result).to_be_focused()
    await expect(page.locator("#record-status")).to_contain_text("Active")
    await expect(record.locator("#record-unlocks tbody tr")).to_contain_text(NOTE)
    await expect(record.locator("#record-strikes")).to_contain_text("yes, by an unlock")
    await expect(record.locator("#record-endings tbody td.state-lifted")).to_have_count(1)
    lifted_row = page.locator("#endings tbody tr").filter(has_text=played.aliased)
    await expect(lifted_row.locator("td.state-lifted")).to_contain_text("yes, ")
    await expect(lifted_row.locator("td.state-lifted time")).to_have_count(1)
    await expect(rows.nth(0).locator("td").nth(2)).to_have_text("none")
    await expect(rows.nth(0).locator("td").nth(5)).to_have_text("no, standing")
    await snap(page, f"unlocked-{viewport}")
    await accessible(page)

    # A crisis conversation's record, opened by its id: its crisis mark, no ending.
    await page.get_by_label("Conversation id or alias").fill(played.crisis)
    await page.get_by_role("button", name="Open record").click()
    await expect(page.locator("#record-title")).to_have_text(f"Conversation {played.crisis}")
    await expect(record.locator("#record-crisis tbody tr")).to_have_count(1)
    await expect(record.locator("#record-crisis")).to_contain_text("self_harm")
    await expect(record.locator("#record-endings")).to_contain_text("No endings.")
    await snap(page, f"crisis-record-{viewport}")
    await accessible(page)

    # The token stays in the tab, never in the address; signing out forgets it.
    assert TOKEN not in page.url
    await page.reload()
    await expect(rows).to_have_count(2)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Admin token")).to_be_focused()
    await expect(page.locator("#review")).to_be_hidden()
    assert await page.evaluate("sessionStorage.length") == 0


@pytest.mark.parametrize("viewport", ["phone"])
async def test_older_endings_are_a_button_away(
    make_gateway: GatewayFactory, browser_page: Page, viewport: str
) -> None:
    """Past the first page of endings, the button brings the older ones, then goes away."""
    gateway = await make_gateway(admin_token=TOKEN)
    for i in range(PAGE_SIZE + 5):
        body = {"note": "test ending", "actor": "ops"}
        status, _, _ = await admin(
            gateway, f"/admin/conversations/conv_{i:04d}/end", OWNER, "POST", body
        )
        assert status == 200
    page = browser_page
    await page.goto(base_url(gateway) + "/admin/ui")
    await sign_in(page)
    rows = page.locator("#endings tbody tr")
    await expect(rows).to_have_count(PAGE_SIZE)
    await expect(rows.nth(0)).to_contain_text(f"conv_{PAGE_SIZE + 4:04d}")
    await page.get_by_role("button", name="Show older endings").click()
    await expect(rows).to_have_count(PAGE_SIZE + 5)
    await expect(rows.nth(PAGE_SIZE + 4)).to_contain_text("conv_0000")
    await expect(page.get_by_role("button", name="Show older endings")).to_be_hidden()
    await expect(page.locator("#stats-totals")).to_contain_text(f"{PAGE_SIZE + 5} endings")
    await snap(page, f"older-endings-{viewport}")
    await accessible(page)


@pytest.mark.parametrize("viewport", ["desktop"])
async def test_a_wrong_token_is_refused_and_asked_again(
    played: Played, browser_page: Page, viewport: str
) -> None:
    """A token the gateway refuses shows an alert and the sign-in form, and is not kept."""
    page = browser_page
    await page.goto(played.url)
    await sign_in(page, token="not-the-token")
    await expect(page.get_by_role("alert")).to_have_text(
        "The admin token was refused. Sign in again."
    )
    await expect(page.get_by_label("Admin token")).to_be_visible()
    await expect(page.locator("#review")).to_be_hidden()
    assert await page.evaluate("sessionStorage.length") == 0
    await snap(page, f"refused-{viewport}")
    await accessible(page)


@pytest.mark.parametrize("viewport", ["phone"])
async def test_with_the_admin_api_off_the_page_says_so(
    make_gateway: GatewayFactory, browser_page: Page, viewport: str
) -> None:
    """A gateway without an admin token serves the page, which says the API is off."""
    gateway = await make_gateway()
    page = browser_page
    await page.goto(base_url(gateway) + "/admin/ui")
    await expect(page.get_by_role("heading", name="The admin API is off")).to_be_visible()
    await expect(page.locator("#sign-in")).to_be_hidden()
    await expect(page.locator("#no-text")).to_be_visible()
    await snap(page, f"api-off-{viewport}")
    await accessible(page)
