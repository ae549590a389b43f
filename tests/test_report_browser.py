"""The HTML report in a real browser: Debian's Chromium, headless, driven by Playwright (one launch for the module).

The samples are converted as two participants (the HAR as P1, the flow dump as P2) and `databack report` draws
them. Every page kind loads without a console error and without a single network request, every chart is drawn
with the marks the samples give, and navigation between nights, runs and participants works. A screenshot of each
page kind is kept in out/test-artifacts/ (not committed); `make screenshots` writes the README's two into docs/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO
from typer.testing import CliRunner

from converters.cli import app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTEFACTS = REPO / "out" / "test-artifacts"
README_SHOTS = {"night": REPO / "docs" / "report-night.png", "run": REPO / "docs" / "report-run.png"}
SAMPLES = REPO / "samples"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Chromium is not installed (`make chromium` installs Debian's package)")


def databack(*args: object) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    people = folder / "participants.csv"
    people.write_text("pattern,participant_id\n*.har,P1\n*.flow,P2\n")
    out = folder / "out"
    databack("convert", SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow", "-o", out, "--participants", people,
             "-j", "1")
    databack("report", out)
    return out / "report.html"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Page:
    """A tab on the report, recording every request and every console error it sees."""

    def __init__(self, browser, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.tab = browser.new_page(viewport={"width": 1200, "height": 900})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.tab.on("request", lambda r: self.requests.append(r.url))
        self.tab.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, route: str) -> None:
        self.tab.goto(f"{self.url}#{route}")
        self.ready(route)

    def ready(self, route: str) -> None:
        """Wait until the page has drawn every chart of `route`."""
        route = route if "/" in route else route + "/"
        self.tab.wait_for_function(f"document.body.dataset.ready === {route!r}", timeout=30_000)

    def marks(self, chart: str, kind: str) -> int:
        """How many marks of a kind (rect, line, symbol, rule…) a chart drew."""
        return self.tab.locator(f'[data-chart="{chart}"] g.mark-{kind}.role-mark > *').count()  # not the legend's

    def charts(self) -> list[str]:
        return self.tab.eval_on_selector_all("[data-chart]", "els => els.map(e => e.dataset.chart)")

    def shot(self, name: str) -> None:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        self.tab.screenshot(path=ARTEFACTS / f"report-{name}.png", full_page=True)

    def check_clean(self) -> None:
        assert self.errors == []
        assert self.requests == [self.url]  # the page itself, loaded once, and nothing else


@pytest.fixture
def page(browser, report):
    tab = Page(browser, report)
    yield tab
    tab.tab.close()


def every_chart_is_drawn(page: Page) -> None:
    for name in page.charts():
        chart = page.tab.locator(f'[data-chart="{name}"]')
        assert chart.get_attribute("data-rendered") == "1", name
        box = chart.locator("svg").first.bounding_box()
        assert box["width"] > 100 and box["height"] > 30, name
        assert chart.locator("g.role-mark > *").count() > 0, name


def test_the_overview_lists_participants_devices_files_and_tables(page):
    page.open("overview")
    text = page.tab.inner_text("main")
    for expected in ("P1", "P2", "Hello Sense, Microsoft Band", "2015-01-05 \u2013 2017-03-04", "phone-sync.har",
                     "phone-sync.flow", "sleep_nights"):
        assert expected in text, expected
    files = page.tab.locator("main table").nth(1).locator("tbody tr")
    assert files.count() == 2
    page.shot("overview")
    page.check_clean()


def test_a_band_night_draws_its_sequences_and_heart_rate(page):
    page.open("night/0")  # P1's first night: the Band sleep filed under 2015-01-08
    assert page.tab.inner_text("h2") == "Night of 2015-01-08"
    assert "Microsoft Band \u00b7 P1" in page.tab.inner_text("p.sub")
    assert page.charts() == ["hypnogram", "night_hr"]
    every_chart_is_drawn(page)
    assert page.marks("hypnogram", "rect") == 11  # its eleven sequences
    assert page.marks("night_hr", "symbol") == 31  # the event's 31 minutes with a heart rate
    figures = page.tab.inner_text(".grid table")
    assert "Total sleep\t5 h 54 min\t5 h 54 min" in figures
    assert "Awakenings\t2\t2" in figures
    page.shot("night-band")
    page.check_clean()


def test_a_sense_night_draws_its_stages_events_and_room(page):
    index = page_index(page, "night", "P2", "2017-03-03")  # the flow dump's room history covers its morning
    page.open(f"night/{index}")
    assert "Hello Sense \u00b7 P2 \u00b7 local times (UTC\u221208:00)" in page.tab.inner_text("p.sub")
    assert page.charts() == ["hypnogram", "events", "night_room"]
    every_chart_is_drawn(page)
    assert page.marks("hypnogram", "rect") == 14  # its 15 timeline events but GOT_OUT_OF_BED, at out of bed
    assert page.marks("events", "symbol") == 7  # in bed, lights out, asleep, partner motion, sunrise, woke, out of bed
    assert page.marks("night_room", "line") == 5  # temperature, humidity, light, sound, particulates
    page.shot("night-sense")
    page.check_clean()


def test_a_run_draws_its_route_from_projected_gps_points_coloured_by_pace(page):
    index = page_index(page, "run", "P1", "Running")
    page.open(f"run/{index}")
    assert page.tab.inner_text("h2") == "Running: Park loop"
    assert sorted(page.charts()) == ["route", "run_hr", "run_pace", "splits"]
    every_chart_is_drawn(page)
    assert page.marks("route", "rule") == 21  # a leg between each of the 22 GPS points and the next
    colours = page.tab.eval_on_selector_all('[data-chart="route"] g.mark-rule > line',
                                            "legs => legs.map(leg => leg.getAttribute('stroke'))")
    assert len(set(colours)) > 5  # coloured by pace, not one colour
    assert page.marks("splits", "rect") == 6
    assert page.marks("run_hr", "line") == 1
    assert "5.03 km" in page.tab.inner_text(".facts")
    page.shot("run")
    page.check_clean()


def test_trends_draw_every_night_and_day_of_a_participant(page):
    page.open("trends/1")  # P2: the flow dump's Sense nights and the Band's daily summaries
    assert page.charts() == ["trend_sleep", "trend_efficiency", "trend_steps", "trend_calories", "trend_room"]
    every_chart_is_drawn(page)
    assert page.marks("trend_sleep", "symbol") == 3  # the nights of 2017-03-01 to 03-03 (03-04 was rejected)
    assert page.marks("trend_steps", "rect") == 7  # 2015-01-05 to 01-11
    page.shot("trends")
    page.check_clean()


def test_previous_next_and_the_list_move_between_a_participants_nights(page):
    page.open("night/0")
    assert page.tab.locator("#prev").is_disabled()
    page.tab.click("#next")
    page.ready("night/1")
    assert page.tab.inner_text("h2") == "Night of 2015-01-09"
    assert page.marks("hypnogram", "rect") == 10
    page.tab.select_option("#pick", label="2017-03-01 \u00b7 Hello Sense")
    page.ready(f"night/{page_index(page, 'night', 'P1', '2017-03-01')}")
    assert page.tab.inner_text("h2") == "Night of 2017-03-01"
    page.tab.go_back()
    page.ready("night/1")
    assert page.tab.inner_text("h2") == "Night of 2015-01-09"
    page.check_clean()


def test_choosing_a_participant_shows_their_nights_and_trends(page):
    page.open("night/0")
    page.tab.select_option("#participant", label="P2")
    page.ready("night/")
    assert "\u00b7 P2 \u00b7" in page.tab.inner_text("p.sub")
    assert page.tab.locator("#pick option").count() == 3  # P2's (the flow dump's) Sense nights: 03-01 to 03-03
    page.open("trends/0")
    page.tab.select_option("#participant", label="P2")
    page.ready("trends/1")
    page.check_clean()


def test_the_page_is_refused_any_request_of_its_own(page):
    page.open("overview")
    outcome = page.tab.evaluate(
        "() => fetch('https://example.org/tile.png').then(() => 'fetched', () => 'refused')")
    assert outcome == "refused"
    assert page.requests == [page.url]  # refused by the page's Content-Security-Policy before it was sent
    assert any("Content Security Policy" in e for e in page.errors)


def page_index(page: Page, kind: str, participant: str, label: str) -> int:
    """The index of a participant's night (by date) or run (by type) in the report's data."""
    if page.tab.url == "about:blank":
        page.open("overview")
    items = page.tab.evaluate(f"() => JSON.parse(document.getElementById('databack-data').textContent).{kind}s")
    field = "night" if kind == "night" else "type"
    return next(i for i, item in enumerate(items) if item["p"] == participant and item[field] == label)


def test_readme_screenshots_show_a_night_and_a_run(browser, tmp_path):
    """`make screenshots` (UPDATE_SCREENSHOTS=1) draws the samples' report and writes the README's two pictures."""
    if not os.environ.get("UPDATE_SCREENSHOTS"):
        for path in README_SHOTS.values():
            assert path.exists() and path.stat().st_size < 250_000, path
        return
    out = tmp_path / "out"
    databack("convert", SAMPLES / "phone-sync.har", SAMPLES / "phone-sync.flow", "-o", out, "-j", "1")
    databack("report", out)
    page = Page(browser, out / "report.html")
    page.tab.set_viewport_size({"width": 1100, "height": 800})
    for name, route in (("night", "night/3"), ("run", "run/1")):
        page.open(route)
        page.tab.locator("main").screenshot(path=README_SHOTS[name])
    page.check_clean()
