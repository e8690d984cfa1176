# Portal: developer entry points. Every target is a thin wrapper around scripts/.
SHELL := /bin/bash
ARCH ?= arm64
.DEFAULT_GOAL := help

.PHONY: help local test build deploy bench lint fmt check

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "Targets:\n"} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-8s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

local: ## Run the API locally: DynamoDB Local :8000 + cargo lambda watch :9000 (Ctrl-C stops both)
	@scripts/local.sh

test: ## Template lint, sam validate, consistency check, cargo test (DynamoDB Local), schemathesis contract
	@scripts/test.sh

build: ## Release Lambda binaries for arm64 (cargo lambda build --release --arm64); ARCH=x86_64 for x86
	@ARCH=$(ARCH) scripts/build.sh

deploy: ## sam build + sam deploy --guided (AWS credentials needed; ARCH as for build)
	@ARCH=$(ARCH) scripts/deploy.sh

bench: ## Benchmark every function vs hello-world and Python+boto3 (bench/results.json, BENCHMARKS.md)
	@scripts/bench.sh

lint: ## cargo fmt --check and clippy (warnings are errors)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the Rust code
	cargo fmt --all

check: ## Consistency check only (template/table.json/functions/router/events/openapi.yaml)
	@python3 scripts/check_project.py
