# Assistant Gazelle V5. Only the Rust toolchain is needed, and Debian's Chromium for the dashboard's
# browser tests (`make browser` installs it): every other tool a target uses
# is built from crates.io by cargo.

CARGO ?= cargo
export CARGO_TERM_COLOR ?= auto

PREFIX ?= $(HOME)/.local

.PHONY: all build test lint demo bench fmt clean install uninstall browser screenshots

all: build

build:
	$(CARGO) build --workspace --bins

## The whole test suite. The end-to-end tests drive the real binaries, so build them first.
## Then the suites that depend on what Gazelle leaves undocumented run again against the
## simulator's hostile answers: offset cursors, date filters comparing UTC days. (`--workspace`
## with `--test` names keeps the first run's feature set: nothing is compiled again.)
HOSTILE = GAZELLE_SIM_CURSORS=offset GAZELLE_SIM_DATE_FILTERS=utc
test: browser
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast
	$(HOSTILE) $(CARGO) test --workspace --no-fail-fast --test sync --test property --test crash --test push --test alerts --test control

## The dashboard's tests drive Debian's Chromium through chromedriver: installed if missing
## (CI runs as root; elsewhere, install `chromium` and `chromium-driver` by hand).
browser:
	@command -v chromedriver >/dev/null && test -x /usr/bin/chromium || { \
	  echo "installing chromium and chromium-driver (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

## The dashboard's main pages at phone and desktop widths, in target/screenshots/ (not
## committed): a real daemon syncing the simulator, logged in as the owner.
screenshots: browser
	$(CARGO) build --workspace --bins
	$(CARGO) test -p e2e --test web screenshots -- --ignored --nocapture

## Formatting and clippy, warnings as errors.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Start the daemon in a temporary directory, show it working, stop it.
demo: build
	./scripts/demo.sh

## Benchmarks (release builds): the pull sync against its fetch-only floor, on the simulator's
## small and large data sets (times, ratio, rows/s, peak memory, request counts); the V4
## migration of 200,000 timeline rows; `status` latency during a full sync against idle, and
## the daemon's memory (idle, peak, a minute after the sync), on small and large; the long
## lists (10,000 alerts, a year of iCalendar): time and peak memory of the CLI and daemon;
## the dashboard's pages on `large`, the owner's view, against a static floor (target 100 ms).
bench:
	$(CARGO) build --release -p gazelle-sim -p gazelled -p gazellectl
	$(CARGO) bench -p sync-engine --bench pull
	$(CARGO) bench -p v4-migration --bench import
	$(CARGO) bench -p e2e --bench status_latency
	BENCH_DATASET=large $(CARGO) bench -p e2e --bench status_latency
	$(CARGO) bench -p e2e --bench large_lists
	$(CARGO) bench -p e2e --bench pages

## Binaries to $(PREFIX)/bin, then the agent (LaunchAgent on macOS, systemd user unit elsewhere).
install:
	$(CARGO) install --locked --path crates/gazelled --root $(PREFIX)
	$(CARGO) install --locked --path crates/gazellectl --root $(PREFIX)
	$(PREFIX)/bin/gazellectl install --gazelled $(PREFIX)/bin/gazelled

## Everything install did, except the user's data, tokens and logs.
uninstall:
	-$(PREFIX)/bin/gazellectl uninstall
	rm -f $(PREFIX)/bin/gazelled $(PREFIX)/bin/gazellectl

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
