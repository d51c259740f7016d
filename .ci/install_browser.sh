#!/usr/bin/env bash
# Installs what the dashboard's browser test (tests/dashboard/test_browser.py)
# needs on a fresh Debian machine, as root, with the package registries as the
# only network:
#   - Chromium from Debian's packages (Playwright drives /usr/bin/chromium; it
#     never downloads a browser of its own);
#   - the Playwright Python package (also in the project's dev extras).
# Solara's front-end files (Vuetify app, RequireJS), which a Solara page
# normally pulls from a public CDN, come with the project's dependencies (the
# solara-assets package); the last line only checks they are there.
# Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
if [ ${#packages[@]} -gt 0 ]; then
  apt-get update
  apt-get install -y --no-install-recommends "${packages[@]}"
fi
chromium --version

python -m pip install --quiet "playwright>=1.40"

python -c "import solara_assets" 2>/dev/null || python -m pip install --quiet -e .
python -m sim.dashboard.assets --check
