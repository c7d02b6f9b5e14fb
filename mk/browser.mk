# Dashboards: schema validation and the browser ring (tests/browser). Node tooling there is test-only:
# pinned in tests/browser/package-lock.json, installed with `npm ci`, never packaged.

BROWSER_DIR := tests/browser
CHROMIUM ?= /usr/bin/chromium

TEST_PREREQS += browser-deps

.PHONY: browser-deps chromium nodejs test-browser dashboard-images pngquant

browser-deps: nodejs chromium $(BROWSER_DIR)/node_modules/.stamp

# Debian's Chromium; a test tool's own browser download cannot reach its host.
chromium:
	@test -x $(CHROMIUM) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

nodejs:
	@command -v node >/dev/null && command -v npm >/dev/null \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm)

$(BROWSER_DIR)/node_modules/.stamp: $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The dashboard rings alone: definition checks, then every view rendered in headless Chromium.
test-browser: vendor browser-deps
	$(PY) -m pytest tests/browser

# The screenshots docs/dashboards.md shows: render every view, then write docs/images/<view>.png from the
# 1440 px renders through pngquant (Debian). Run after changing a view; commit the images it writes.
pngquant:
	@command -v pngquant >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pngquant)

dashboard-images: test-browser pngquant
	$(PY) -m tests.browser.docs_images
