# --- bench: correlatepolicydenied against a splunklib floor over one large mixed stream ---
BENCH_ROWS ?= 1000000
.PHONY: bench
bench: vendor
	$(PY) -m devtools.bench --rows $(BENCH_ROWS) --json build/bench.json
