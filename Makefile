# The two commands of the README. Both install what they need first (scripts/setup.sh).
.PHONY: dev test setup build bench bench-cron fuzz
dev:            ## run llmobserve locally on 127.0.0.1:$${PORT:-8787}
	@scripts/dev.sh
test:           ## run every test
	@scripts/test.sh
setup:          ## install the toolchain and npm dependencies only
	@scripts/setup.sh
build:          ## build the worker only
	@scripts/setup.sh && scripts/build-worker.sh
bench:          ## the gateway benchmark, side by side with peers (about 10 min; not part of make test)
	@bench/run.sh
bench-cron:     ## the daily cron over 1,000,000 events: time and D1 rows read/written (about 10 min; not part of make test)
	@scripts/setup.sh && scripts/build-worker.sh && cargo build -p mock-openai --quiet && node bench/cron.mjs
fuzz:           ## fuzz core's parsers, $${FUZZ_SECONDS:-600} s per target, and add new coverage to the corpus
	@scripts/setup.sh && scripts/fuzz.sh $${FUZZ_SECONDS:-600} --save
