#!/usr/bin/env bash
# System packages the test suite needs beyond PyPI: headless Chromium for the HTML report test
# and the playground's browser tests (Playwright drives this chromium; it downloads nothing).
# Installed from Debian's archive when missing and when we may (root, apt-get present);
# otherwise the tests that need it are skipped with a reason.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the report tests (once)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; report rendering tests will be skipped" >&2
fi
exit 0
