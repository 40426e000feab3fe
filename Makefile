# emocfg: the two commands of the README, and the benchmarks.
SWIFT ?= swift
DEMO_DIR ?= demo-out

.PHONY: demo test build bench deps clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build --product emocfg

## The main job on the bundled sample: ingest every replica in samples/sources.yaml into a fresh
## store and print the summary, then the store's status.
demo: build
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$$($(SWIFT) build --show-bin-path)/emocfg ingest --sources samples/sources.yaml --db $(DEMO_DIR)/emocfg.sqlite
	@echo
	$$($(SWIFT) build --show-bin-path)/emocfg status --db $(DEMO_DIR)/emocfg.sqlite

## Every test (XCTest), build included.
test: deps
	$(SWIFT) test --disable-swift-testing

## Benchmarks, on demand only: release build, probe (vs ffprobe) and store upserts.
bench:
	@bash scripts/install-deps.sh --bench
	$(SWIFT) build -c release --product emocfg-bench
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench probe --files 600
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench upsert --clips 100000

clean:
	rm -rf .build $(DEMO_DIR)
