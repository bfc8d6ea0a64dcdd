"""An organizer of one organization in the back-office, in real headless Chromium: the index
offers the catalog, sales and waiting rooms but no list of fans, wallets or ledger; the concert
list holds their own concerts only; a new concert needs no organization chosen. Screenshots in
artifacts/."""

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from accounts.tests.factories import DEFAULT_PASSWORD, OrganizationFactory
from concerts.tests.factories import ConcertFactory, VenueFactory, make_show
from pages.tests.browser import ARTIFACTS, DESKTOP_SCREEN
from reservations.tests.factories import organizer_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_organizer_sees_their_own_concerts_only(page: Page):
    own = make_show(concert=ConcertFactory(title="우리 공연"), starts_in=timedelta(days=10))
    other_venue = VenueFactory(name="남의 공연장", organization=OrganizationFactory(name="다른 기획사"))
    make_show(concert=ConcertFactory(title="남의 공연", venue=other_venue), starts_in=timedelta(days=10))
    organizer = organizer_user(name="주최자")

    page.set_viewport_size(DESKTOP_SCREEN)
    page.goto("/admin/login/?next=/admin/")
    page.locator("input[name=username]").fill(organizer.phone)
    page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
    page.locator("input[name=password]").press("Enter")

    content = page.locator("#content-main")
    expect(content.locator("a[href='/admin/concerts/concert/']").first).to_be_visible()
    expect(content.locator("a[href='/admin/queueing/queuemonitor/']").first).to_be_visible()
    expect(content.locator("a[href='/admin/accounts/organization/']").first).to_be_visible()
    for hidden in ["/admin/accounts/user/", "/admin/points/wallet/", "/admin/points/ledgerentry/"]:
        expect(page.locator(f"a[href='{hidden}']")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "admin_index_organizer.png"), full_page=True)

    content.locator("a[href='/admin/concerts/concert/']").first.click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("우리 공연")
    expect(page.locator("#changelist-filter")).not_to_contain_text("남의 공연장")
    page.screenshot(path=str(ARTIFACTS / "admin_concerts_organizer.png"), full_page=True)

    page.goto(f"/admin/reservations/reservation/show/{own.pk}/dashboard/")
    expect(page.locator("h1")).to_contain_text("우리 공연")

    page.goto("/admin/concerts/concert/add/")
    expect(page.locator("input[name=organization]")).to_be_hidden()
    expect(page.locator("select[name=venue] option")).to_have_text(["---------", own.venue.name])
