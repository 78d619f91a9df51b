"""Open every page of the built book in headless Chromium and check what a reader sees.

    apt-get install chromium chromium-driver && pip install selenium
    jupyter-book build book/ && python scripts/check_book_in_browser.py

Serves ``book/_build/html`` on localhost, then for each page at a laptop's 1280 px: it loads,
every image is loaded and non-empty, math is typeset by MathJax on pages that have math,
every Colab link points at this page's own notebook, no table, output block or figure is
wider than the text column, no local path of a machine is shown, and the page logs no
console error of its own. Whole-page screenshots go to ``book/_build/screenshots/`` (look at
them). Exits non-zero if any check fails, listing every failure.
"""

from __future__ import annotations

import functools
import http.server
import re
import sys
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "book" / "_build" / "html"
SHOTS = ROOT / "book" / "_build" / "screenshots"
MATH_PAGES = {"problem.html"}
# a path on the machine that executed or built the book: never meant for a reader
LOCAL_PATH = re.compile(r"(?<![\w.])(/work/|/home/|/root/|/tmp/|/Users/|[A-Z]:\\\\)[\w.-]+")
# what can be too wide for the text column: tables, code and output blocks, images, figures
WIDE = "table, pre, img, div.output, div.cell_output, figure"
THEME_ERRORS: set[str] = set()
SKIP = {"genindex.html", "search.html", "index.html"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def check_page(driver, base: str, page: str) -> list[str]:
    problems = []
    driver.get(f"{base}/{page}")
    driver.set_window_size(1280, 900)
    deadline = time.time() + 20
    while time.time() < deadline and driver.execute_script("return document.readyState") != "complete":
        time.sleep(0.2)
    if not driver.find_elements("css selector", "article, main"):
        problems.append(f"{page}: no article content")
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => i.src.includes('_images') && "
        "!(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    problems += [f"{page}: image not shown: {src}" for src in broken]
    if page in MATH_PAGES:
        while time.time() < deadline and not driver.find_elements("css selector", "mjx-container"):
            time.sleep(0.2)
        if not driver.find_elements("css selector", "mjx-container"):
            problems.append(f"{page}: math not typeset by MathJax")
    text = driver.find_element("tag name", "body").text
    if "|---|" in text:
        problems.append(f"{page}: a Markdown table was not rendered (raw '|---|' in the text)")
    for repr_ in sorted(set(re.findall(r"<[\w.]+ object(?: at 0x[0-9a-f]+)?>", text))):
        problems.append(f"{page}: a Python object's repr is shown: {repr_}")
    clipped = driver.execute_script(
        "return Array.from(document.querySelectorAll('mjx-container[display=\"true\"]'))"
        ".filter(m => m.scrollWidth > m.clientWidth + 2 || "
        "m.getBoundingClientRect().right > document.documentElement.clientWidth)"
        ".map(m => m.textContent.slice(0, 60))")
    problems += [f"{page}: equation wider than the page (clipped or scrolled): {t}" for t in clipped]
    too_wide = driver.execute_script(
        "const column = document.querySelector('article, main').getBoundingClientRect();"
        "return Array.from(document.querySelectorAll('article ' + arguments[0].split(', ')"
        ".join(', article ')))"
        ".filter(e => e.getClientRects().length > 0 && e.closest('details:not([open])') === null && (e.getBoundingClientRect().right > column.right + 2 ||"
        " e.scrollWidth > e.clientWidth + 2 && getComputedStyle(e).overflowX !== 'visible'))"
        ".map(e => e.tagName.toLowerCase() + ': ' + (e.innerText || e.getAttribute('src') || '')"
        ".trim().replace(/\\s+/g, ' ').slice(0, 50))", WIDE)
    problems += [f"{page}: wider than the text column at 1280 px: {t}" for t in too_wide]
    problems += [f"{page}: a local path is shown: {m.group(0)}" for m in LOCAL_PATH.finditer(text)]
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        # errors of the page's own scripts and resources (an external address is offline here);
        # sphinx-thebe 0.3 writes its configuration script twice into every page of a Jupyter
        # Book 1 build, whose second copy fails: the theme's, reported once below
        if entry.get("level") == "SEVERE" and "127.0.0.1" in message:
            # the theme's too: on the first page it reads an unset theme mode, and the
            # browser asks for a favicon the book does not have
            if any(theme in message for theme in ("THEBE_JS_URL", "invalid theme mode",
                                                  "favicon.ico")):
                THEME_ERRORS.add(message.split(" ", 2)[-1][:120])
            else:
                problems.append(f"{page}: console error: {message[:160]}")
    notebook = page.replace(".html", ".ipynb")
    if (ROOT / "book" / notebook).exists():
        links = [a.get_attribute("href") for a in driver.find_elements("css selector", "a")
                 if "colab.research.google.com" in (a.get_attribute("href") or "")]
        if not links:
            problems.append(f"{page}: no Colab launch link")
        problems += [f"{page}: Colab link {l} is not for {notebook}" for l in links
                     if not re.search(rf"/blob/main/book/{re.escape(notebook)}$", l)]
    # the whole page, at the laptop's width
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 900), 16000))
    driver.save_screenshot(str(SHOTS / page.replace(".html", ".png")))
    return problems


def main() -> int:
    if not HTML.is_dir():
        print(f"{HTML} does not exist: run `jupyter-book build book/` first", file=sys.stderr)
        return 2
    SHOTS.mkdir(parents=True, exist_ok=True)
    server, port = serve(HTML)
    pages = sorted(p.name for p in HTML.glob("*.html") if p.name not in SKIP)
    driver = browser()
    problems = []
    try:
        for page in pages:
            found = check_page(driver, f"http://127.0.0.1:{port}", page)
            print(f"{'FAIL' if found else 'ok  '} {page}")
            problems += found
    finally:
        driver.quit()
        server.shutdown()
    for problem in problems:
        print("  -", problem)
    for error in sorted(THEME_ERRORS):
        print(f"  (not counted: the theme's error on every page: {error})")
    print(f"{len(pages)} pages, {len(problems)} problems; screenshots in {SHOTS.relative_to(ROOT)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
