# emocfg: the two commands of the README, and the benchmarks.
SWIFT ?= swift
DEMO_DIR ?= demo-out

.PHONY: demo test build bench deps clean browser-test

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

## The main job on the bundled sample: ingest every replica, annotate it against the local
## provider stand-in, print the store's status and the command that opens the review page (scripts/demo.sh).
demo: deps
	$(SWIFT) build
	DEMO_DIR=$(DEMO_DIR) bash scripts/demo.sh

## Every test (XCTest), build included.
test: deps
	$(SWIFT) test --disable-swift-testing

## The review page in headless Chromium with Selenium on a copy of the demo store (installs chromium,
## chromium-driver and selenium when missing; prints SKIP where it cannot). Not part of `make test`.
browser-test: deps
	$(SWIFT) build
	DEMO_DIR=$(DEMO_DIR) bash scripts/browser-test.sh

## Benchmarks, on demand only: release build, probe (vs ffprobe), store upserts, sampling, the LLM client,
## SHA-256 (swift-crypto vs the old Swift code), export and clip rendering (vs ffmpeg), face search (vs a PyAV + dlib Python script),
## affective-tree edit distances per second (the GRPO reward).
bench:
	@bash scripts/install-deps.sh --bench
	$(SWIFT) build -c release
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench probe --files 600
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench upsert --clips 100000
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench sample --clips 200
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench llm --requests 5000
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench ratelimit --rpm 3000 --seconds 60
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench adaptive --capacity 16 --seconds 60 --outage 30
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench batch --requests 100000
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench sha256
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench export
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench render
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench faces --count 300
	$$($(SWIFT) build -c release --show-bin-path)/emocfg-bench trees

clean:
	rm -rf .build $(DEMO_DIR)
