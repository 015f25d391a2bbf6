"""Demo servers and the Chromium driver used by the end-to-end tests (stdlib + Playwright)."""
