#!/usr/bin/env bash
# Installs what the dashboard's browser test (tests/test_dashboard_browser.py)
# needs on a fresh Debian machine, as root, with the package registries as the
# only network:
#   - Chromium from Debian's packages (Playwright drives /usr/bin/chromium; it
#     never downloads a browser of its own);
#   - the Playwright Python package (also in the project's dev extras);
#   - Solara's front-end files (Vuetify app, RequireJS), which a Solara page
#     normally pulls from a public CDN, taken from the npm registry with npm
#     into Solara's cache (python -m sim.dashboard.assets).
# Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v npm >/dev/null 2>&1 || packages+=(npm)
if [ ${#packages[@]} -gt 0 ]; then
  apt-get update
  apt-get install -y --no-install-recommends "${packages[@]}"
fi
chromium --version

python -m pip install --quiet "playwright>=1.40"

# Solara's files depend on the Solara version installed, so the project (and
# with it mesa[viz] and Solara) must be installed first.
python -c "import solara" 2>/dev/null || python -m pip install --quiet -e .
python -m sim.dashboard.assets
