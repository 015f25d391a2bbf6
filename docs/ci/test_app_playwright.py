"""An ordinary Playwright test of a page that calls an API on another origin: it passes whatever the
browser did with the API call. Run it through docs/ci/run-with-cors-gate.sh and the job still fails
when the browser blocked that call.

    APP_URL=http://127.0.0.1:3000/ API_URL=http://127.0.0.1:5000/api/items \
    CORS_ADDON=cors_addon.py docs/ci/run-with-cors-gate.sh pytest docs/ci/test_app_playwright.py

The only change a test suite needs: launch the browser with the proxy in CORS_PROXY. Chromium does not
send requests for 127.0.0.1 or localhost through a proxy unless told to ("<-loopback>"). For HTTPS,
the browser must trust mitmproxy's CA (https://docs.mitmproxy.org/stable/concepts-certificates/), or
the context is made with ignore_https_errors=True.
"""

import os

from playwright.sync_api import sync_playwright


def test_the_page_shows_its_items():
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM") or None,  # where `playwright install` cannot download
            proxy={"server": os.environ["CORS_PROXY"], "bypass": "<-loopback>"},
        )
        page = browser.new_page()
        page.goto(os.environ["APP_URL"])
        # What the page's code does: it calls its API and renders whatever came back.
        shown = page.evaluate("""async (api) => {
            try { const r = await fetch(api); return `items: ${r.status}`; }
            catch (e) { return 'could not load items'; }
        }""", os.environ["API_URL"])
        assert shown  # the page rendered something either way: this test alone cannot see CORS
        browser.close()
