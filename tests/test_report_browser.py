"""report.html and results/index.html in a real headless browser: Debian's chromium, driven by
its chromedriver through selenium (no browser download). Skipped where chromium is not
installed, unless BENCH_REQUIRE_BROWSER=1 (as CI sets it: there a skip would hide a failure)."""

import os
import shutil

import pytest

from conftest import run_dirs

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
GRID = """
encoders = ["pixels", {name = "baseline", epochs = 2}]
reducers = ["pca32", "pca50w"]
clusterers = ["kmeans", "gmm", {name = "hdbscan", min_cluster_size = 250, label = "hdbscan250"}]
"""  # hdbscan250 finds no cluster in 300 images: failed combos to keep apart


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("BENCH_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium and chromedriver are required here (apt-get install chromium chromium-driver)")
        pytest.skip("no chromium/chromedriver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, digits_npz):
    """Two runs of the same grid on 300 real digits with ground truth (the second ranked by
    silhouette); returns the results folder."""
    from bench.run import main
    out = tmp_path_factory.mktemp("browser") / "results"
    grid = out.parent / "g.toml"
    grid.write_text(GRID)
    for extra in ([], ["--rank-by", "silhouette"]):
        assert main(["--data", str(digits_npz), "--grid", str(grid), "--jobs", "1", "--quiet",
                     "--out", str(out), *extra]) == 0
    return out


@pytest.fixture
def page(browser, runs):
    browser.get((run_dirs(runs)[0] / "report.html").as_uri())
    browser.get_log("browser")  # what loading said is checked in its own test
    return browser


def visible_rows(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#board tr[data-combo]')].filter(r => !r.hidden)"
        ".map(r => [r.dataset.combo, r.dataset.encoder, r.dataset.status])")


def test_page_loads_without_console_errors_and_renders_every_image(browser, runs):
    browser.get((run_dirs(runs)[0] / "report.html").as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    images = browser.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth])")
    assert len(images) >= 2 + 2 * 10  # clusters with their larger samples, and the rest
    assert all(complete and width > 0 for _, complete, width in images), images


def test_filters_change_the_visible_rows(page):
    from selenium.webdriver.support.ui import Select
    everything = visible_rows(page)
    assert len(everything) == 12
    Select(page.find_element("css selector", 'select[data-column="encoder"]')).select_by_value("pixels")
    pixels = visible_rows(page)
    assert len(pixels) == 6 and {encoder for _, encoder, _ in pixels} == {"pixels"}
    assert page.find_element("id", "shown").text == "6 of 12 combos shown"
    Select(page.find_element("css selector", 'select[data-column="status"]')).select_by_value("failed")
    assert {(e, s) for _, e, s in visible_rows(page)} == {("pixels", "failed")}
    Select(page.find_element("css selector", 'select[data-column="encoder"]')).select_by_value("")
    Select(page.find_element("css selector", 'select[data-column="status"]')).select_by_value("")
    assert visible_rows(page) == everything


def test_sorting_by_a_heading_reorders_the_rows_and_keeps_failed_combos_apart(page):
    headings = [th.text for th in page.find_elements("css selector", "#board th")]
    column = headings.index("silhouette")

    def silhouettes():
        return page.execute_script(
            f"return [...document.querySelectorAll('#board tbody.ok tr')].map(r => r.cells[{column}].textContent)")
    before = silhouettes()
    page.find_elements("css selector", "#board th")[column].click()
    ascending = [float(v) for v in silhouettes() if v]
    assert ascending == sorted(ascending) and silhouettes() != before
    page.find_elements("css selector", "#board th")[column].click()
    descending = [float(v) for v in silhouettes() if v]
    assert descending == sorted(descending, reverse=True)
    statuses = page.execute_script(
        "return [...document.querySelectorAll('#board tbody')].map(b => [...b.rows]"
        ".filter(r => r.dataset.combo).map(r => r.dataset.status))")
    assert set(statuses[0]) == {"ok"} and set(statuses[1]) == {"failed"} and len(statuses[1]) == 4


def test_grid_heatmaps_are_present_for_every_clusterer(page):
    captions = [c.text for c in page.find_elements("css selector", ".heatmaps table.heatmap caption")]
    assert len(captions) == 6  # 3 clusterers, by the ranking score and by ACC
    assert {c.split(":")[0] for c in captions} == {"kmeans", "gmm", "hdbscan250"}
    cells = page.find_elements("css selector", ".heatmaps table.heatmap td[style]")
    assert cells and all("background" in c.get_attribute("style") for c in cells)


def test_a_cluster_opens_to_a_larger_sample(page):
    details = page.find_elements("css selector", ".mosaics details")
    assert len(details) == 10
    larger = details[0].find_element("css selector", "img")
    assert not larger.is_displayed()
    details[0].find_element("css selector", "summary").click()
    assert larger.is_displayed() and larger.size["width"] > 100


def test_index_lists_every_run_and_links_to_its_page(browser, runs):
    browser.get((runs / "index.html").as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    links = [a.get_attribute("href") for a in browser.find_elements("css selector", "a")]
    assert sorted(link.rsplit("/", 2)[1] for link in links) == [p.name for p in run_dirs(runs)]
    browser.get(links[0])
    assert browser.title.startswith("bench run")
