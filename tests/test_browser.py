"""Browser tests of the built site (``make book`` first, then ``make browser-test``).

The site in ``_build/html`` is served on 127.0.0.1 and driven with Playwright for Python through the
system Chromium (Debian's ``chromium`` package; ``playwright install`` is never needed). Every page is
checked for HTTP 200, broken images, console errors and leaked tracebacks or TensorFlow log lines; every
notebook page must show a figure; the search page must find "transfer"; exercise solutions must stay
hidden until clicked. Screenshots at desktop and phone width land in ``_build/screenshots/``.

Skips with a reason when the site is not built or Chromium/Playwright is absent, except under ``CI=true``
where a missing browser fails (``.ci/run`` installs it). ``CHROMIUM=/path`` picks another binary.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import os
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
IN_CI = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage", "--no-proxy-server"]
TIMEOUT_MS = 30_000                     # per navigation / wait; pages load in well under a second here
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MAX_SHOT_HEIGHT = 15_000                # px, for the full-page screenshots

# Pages (relative to _build/html) that are not checked page by page: assets, the generated index
# (not in the table of contents), the search page (its own test, with a query) and index.html
# (a meta-refresh stub to book/intro.html; the crawl test follows it).
SKIPPED_PARTS = ("_static/", "_sources/", "_images/")
SKIPPED_PAGES = {"genindex.html", "search.html", "index.html", "py-modindex.html"}

# Notebook pages that legitimately draw no figure, with the reason.
FIGURE_EXEMPT = {
    "notebooks/00_environment_check.html": "checks the installation; it draws no figure",
}
SOLUTION_PAGE = "notebooks/00_environment_check.html"   # two exercises with dropdown solutions

# Text that must never reach a page: a Python traceback or TensorFlow/absl/XLA log lines. The exact shapes
# of those lines are searched in the whole page text; the bare markers of issue 7 (I0000, oneDNN,
# cuda_, absl::) in the notebook outputs only, so that prose may still explain such a message.
LEAK_IN_PAGE = {
    "Python traceback": re.compile(r"Traceback \(most recent call last\)"),
    "TensorFlow log line (I0000 ...)": re.compile(r"\bI0000 \d\d:\d\d:\d\d"),
    "absl log prefix": re.compile(r"(?m)^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ "),
    "oneDNN notice": re.compile(r"oneDNN custom operations"),
    "CUDA log (cuda_*.cc)": re.compile(r"\bcuda_\w+\.cc\b"),
    "absl:: log": re.compile(r"absl::"),
    "setup cell (the Colab install, tagged remove-cell)": re.compile(r"google\.colab|pip install -q"),
}
LEAK_IN_OUTPUTS = {
    "TensorFlow log marker I0000": re.compile(r"\bI0000\b"),
    "oneDNN marker": re.compile(r"oneDNN"),
    "CUDA marker (cuda_)": re.compile(r"cuda_"),
    "absl log prefix": re.compile(r"\b[IWEF]\d{4} \d\d:\d\d:\d\d"),
}


def site_pages() -> list[str]:
    """HTML pages of the built site, relative to ``_build/html`` (empty when the site is not built)."""
    if not (SITE / "index.html").is_file():
        return []
    pages = []
    for path in SITE.rglob("*.html"):
        rel = path.relative_to(SITE).as_posix()
        if rel.startswith(SKIPPED_PARTS) or rel in SKIPPED_PAGES:
            continue
        pages.append(rel)
    return sorted(pages)


PAGES = site_pages()


def _need_site() -> None:
    if not (SITE / "index.html").is_file():
        pytest.skip(f"the site is not built ({SITE / 'index.html'} is missing): run `make book` first")


# --------------------------------------------------------------------------------------------- server
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """``_build/html`` served by a ThreadingHTTPServer on 127.0.0.1 at a free port (module scope)."""
    _need_site()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(SITE)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -------------------------------------------------------------------------------------------- browser
def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run installs Chromium and requirements-dev.txt has playwright)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(site_url: str):
    """Headless system Chromium driven by Playwright (module scope)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    executable = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        _unavailable("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """A loaded page and what went wrong while loading it."""

    page: object
    status: int | None
    problems: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def _is_local(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.scheme in {"data", "blob", "about"} or parsed.hostname in {"127.0.0.1", "localhost"}


@pytest.fixture
def visit(browser, site_url: str):
    """``visit(path, viewport=DESKTOP)`` opens a page in a fresh context and records its problems."""
    contexts = []

    def _visit(path: str, viewport: dict[str, int] = DESKTOP) -> Visit:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        result = Visit(page=page, status=None)

        # The site must work offline: requests leaving 127.0.0.1 (MathJax, fonts or badges on a CDN)
        # are aborted here, and the console errors they cause ("Failed to load resource" for a
        # blocked URL) are ignored below. Everything served by the site itself must load.
        def route(r):
            if _is_local(r.request.url):
                r.continue_()
            else:
                result.blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)

        def on_console(msg) -> None:
            if msg.type != "error":
                return
            where = (msg.location or {}).get("url", "")
            if (where and not _is_local(where)) or any(url in msg.text for url in result.blocked):
                return
            result.problems.append(f"console error: {msg.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: result.problems.append(f"uncaught JavaScript error: {exc}"))
        page.on("requestfailed", lambda req: _is_local(req.url) and result.problems.append(
            f"request failed: {req.url} ({req.failure})"))
        page.on("response", lambda resp: _is_local(resp.url) and resp.status >= 400 and result.problems.append(
            f"HTTP {resp.status} for {resp.url}"))

        response = page.goto(f"{site_url}/{path}", wait_until="load")
        result.status = response.status if response else None
        return result

    yield _visit
    for context in contexts:
        context.close()


# JavaScript run in the page: make lazy images load, wait for every image, return the broken ones.
_BROKEN_IMAGES_JS = """
async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done, {once: true});
    img.addEventListener('error', done, {once: true});
    setTimeout(done, 10000);
  })));
  return imgs.filter(img => !(img.complete && img.naturalWidth > 0))
             .map(img => img.currentSrc || img.src || img.outerHTML.slice(0, 120));
}
"""

# The page text a reader could see (hidden solutions included). Code listings in prose (a guide quoting
# an error message) are left out; notebook cells, inputs and outputs, are kept.
_PAGE_TEXT_JS = """
() => {
  const root = (document.querySelector('main') || document.body).cloneNode(true);
  root.querySelectorAll('script, style, noscript').forEach(el => el.remove());
  root.querySelectorAll('div.highlight').forEach(el => { if (!el.closest('.cell')) el.remove(); });
  return root.textContent;
}
"""

_OUTPUTS_TEXT_JS = """
() => Array.from(document.querySelectorAll('.cell_output')).map(el => el.textContent).join('\\n')
"""

_FIGURES_JS = """
() => Array.from(document.querySelectorAll('.cell_output img'))
           .filter(img => img.complete && img.naturalWidth > 0).length
"""

# Solutions (sphinx-exercise ``:class: dropdown``) whose body is visible without a click (togglebutton hides
# it with visibility: hidden and height 0, not display: none).
_OPEN_SOLUTIONS_JS = """
() => Array.from(document.querySelectorAll('div.solution.dropdown'))
  .filter(sol => Array.from(sol.children)
    .filter(el => !el.classList.contains('admonition-title'))
    .some(el => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
                && el.getBoundingClientRect().height > 0))
  .map(sol => sol.id)
"""


# ------------------------------------------------------------------------------------------ the tests
class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        wanted = {"a": "href", "link": "href", "img": "src", "script": "src"}.get(tag)
        if wanted and values.get(wanted):
            self.targets.append(values[wanted])
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            match = re.search(r"url=(.+)", values.get("content") or "", re.I)
            if match:
                self.targets.append(match.group(1).strip().strip("'\""))


def test_every_internal_link_resolves_and_every_page_is_reachable(site_url: str) -> None:
    """Crawl from index.html over same-site links: every target answers 200, no page is orphaned."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    todo, seen, broken = [f"{site_url}/index.html"], set(), []
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        is_page = url.endswith(".html")
        try:
            with opener.open(urllib.request.Request(url, method="GET" if is_page else "HEAD"),
                             timeout=10) as resp:
                body = resp.read().decode("utf-8", "replace") if is_page else ""
        except urllib.error.URLError as exc:
            broken.append(f"{url}: {exc}")
            continue
        if not is_page or "/_static/" in url:
            continue
        parser = _Links()
        parser.feed(body)
        for target in parser.targets:
            absolute = urllib.parse.urljoin(url, target)
            absolute = urllib.parse.urldefrag(absolute).url.split("?")[0]
            if absolute.startswith(site_url) and absolute not in seen:
                todo.append(absolute)
    assert not broken, "broken internal links:\n" + "\n".join(sorted(broken))
    reached = {u[len(site_url) + 1:] for u in seen}
    orphans = [p for p in PAGES if p not in reached]
    assert not orphans, f"pages not reachable by links from the home page: {orphans}"


@pytest.mark.parametrize("path", PAGES or [pytest.param("(none)", marks=pytest.mark.skip(
    reason="the site is not built: run `make book` first"))])
def test_page_renders_cleanly(visit, path: str) -> None:
    """HTTP 200, every image loads, no console error, no traceback or TF log text, figures on notebooks."""
    v = visit(path)
    page = v.page
    problems = list(v.problems)
    if v.status != 200:
        problems.append(f"HTTP status {v.status}")
    broken = page.evaluate(_BROKEN_IMAGES_JS)
    problems += [f"broken image: {src}" for src in broken]
    for where, text, patterns in (("page text", page.evaluate(_PAGE_TEXT_JS), LEAK_IN_PAGE),
                                  ("cell outputs", page.evaluate(_OUTPUTS_TEXT_JS), LEAK_IN_OUTPUTS)):
        for what, pattern in patterns.items():
            match = pattern.search(text)
            if match:
                snippet = " ".join(text[max(0, match.start() - 60): match.end() + 60].split())
                problems.append(f"{what} in the {where}: ...{snippet}...")
    if path.startswith("notebooks/") and path not in FIGURE_EXEMPT and page.evaluate(_FIGURES_JS) < 1:
        problems.append("notebook page shows no rendered figure (no loaded <img> in a .cell_output)")
    open_solutions = page.evaluate(_OPEN_SOLUTIONS_JS)
    if open_solutions:
        problems.append(f"solutions visible before any click: {open_solutions}")
    # Problems reported after the checks above (late console errors) are included too.
    problems += [p for p in v.problems if p not in problems]
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


def test_figure_exemptions_are_current() -> None:
    """Every exemption names a built page, so the list cannot silently go stale."""
    _need_site()
    stale = [p for p in FIGURE_EXEMPT if p not in PAGES]
    assert not stale, f"FIGURE_EXEMPT lists pages that are not built: {stale}"


def test_search_finds_transfer(visit) -> None:
    v = visit("search.html?q=transfer")
    assert v.status == 200
    results = v.page.locator("#search-results ul.search li")
    results.first.wait_for(state="visible")
    assert results.count() >= 1
    assert not v.problems, "\n".join(v.problems)


def test_math_renders_from_the_sites_own_mathjax(visit) -> None:
    """An equation is typeset while every request leaving 127.0.0.1 is blocked (an offline classroom copy)."""
    _need_site()
    with_math = [p for p in PAGES if 'class="math notranslate' in (SITE / p).read_text(encoding="utf-8")]
    assert with_math, "no built page holds an equation, so offline math cannot be checked"
    v = visit(with_math[0])
    v.page.locator("mjx-container").first.wait_for(state="attached")
    assert not [u for u in v.blocked if "mathjax" in u.lower()], f"MathJax requested from a CDN: {v.blocked}"
    assert not v.problems, "\n".join(v.problems)


def test_solution_hidden_until_clicked(visit) -> None:
    if SOLUTION_PAGE not in PAGES:
        pytest.skip(f"{SOLUTION_PAGE} is not built")
    v = visit(SOLUTION_PAGE)
    page = v.page
    solution = page.locator("div.solution.dropdown").first
    # togglebutton.js adds a button to the title and hides the body (visibility: hidden, height 0).
    button = solution.locator("button.toggle-button")
    button.wait_for(state="visible")
    body = solution.locator("xpath=./*[not(contains(concat(' ', @class, ' '), ' admonition-title '))]").first
    assert body.is_hidden(), "the solution should be hidden before its toggle is clicked"
    button.click()
    body.wait_for(state="visible")
    assert body.inner_text().strip(), "the solution should show its text after a click"
    button.click()
    body.wait_for(state="hidden")


# -------------------------------------------------------------------------------------- screenshots
def _notebook_for_screenshot() -> str | None:
    notebooks = [p for p in PAGES if p.startswith("notebooks/")]
    with_figures = [p for p in notebooks if p not in FIGURE_EXEMPT]
    return (with_figures or notebooks or [None])[0]


def _shot_targets() -> dict[str, str]:
    targets = {"home": "book/intro.html" if "book/intro.html" in PAGES else "index.html"}
    notebook = _notebook_for_screenshot()
    if notebook:
        targets["notebook-" + Path(notebook).stem] = notebook
    if "book/results.html" in PAGES:
        targets["results"] = "book/results.html"
    return targets


@pytest.fixture(scope="module")
def screenshots(browser, site_url: str) -> dict[str, dict]:
    """PNGs of the key pages at desktop and phone width (first screen and full page); name -> facts."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for stale in SHOTS.glob("*.png"):          # the folder shows this run only
        stale.unlink()
    facts: dict[str, dict] = {}
    for name, path in _shot_targets().items():
        for device, viewport in (("desktop-1280", DESKTOP), ("phone-390", PHONE)):
            context = browser.new_context(viewport=viewport)
            context.set_default_timeout(TIMEOUT_MS)
            try:
                page = context.new_page()
                page.route("**/*", lambda r: r.continue_() if _is_local(r.request.url) else r.abort())
                page.goto(f"{site_url}/{path}", wait_until="load")
                page.evaluate(_BROKEN_IMAGES_JS)          # lazy images in, so the capture is complete
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                # What a reader sees on arrival, then the whole page (in the full-page capture the sticky
                # left sidebar is drawn shifted: an artefact of the capture, not of the site).
                # Chromium cannot capture much beyond 16,384 px: long chapters are cut at MAX_SHOT_HEIGHT.
                height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_SHOT_HEIGHT)
                full = {"x": 0, "y": 0, "width": viewport["width"], "height": height}
                for suffix, clip in (("", None), ("-full", full)):
                    file = SHOTS / f"{name}-{device}{suffix}.png"
                    page.screenshot(path=str(file), full_page=clip is not None, clip=clip)
                    facts[file.name] = {"path": path, "viewport": viewport["width"],
                                        "scroll_width": scroll_width}
            finally:
                context.close()
    return facts


def test_screenshots_are_saved_as_pngs(screenshots: dict[str, dict]) -> None:
    names = set(screenshots)
    expected = {f"{n}-{d}{s}.png" for n in _shot_targets() for d in ("desktop-1280", "phone-390")
                for s in ("", "-full")}
    assert expected <= names
    for name in names:
        data = (SHOTS / name).read_bytes()
        assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG screenshot"
    if "book/results.html" not in PAGES:
        pytest.skip("book/results.html is not built yet: no results screenshots (home and notebook saved)")


def test_no_sideways_scrolling_on_a_phone(screenshots: dict[str, dict]) -> None:
    """At 390 px the page itself must not scroll sideways (wide tables scroll inside their own box)."""
    wide = {name: f["scroll_width"] for name, f in screenshots.items()
            if f["viewport"] == PHONE["width"] and f["scroll_width"] > PHONE["width"] + 1}
    assert not wide, f"pages wider than the 390 px phone screen (scrollWidth): {wide}"
