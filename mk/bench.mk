# --- bench: correlatepolicydenied against a splunklib floor over one large mixed stream ---
# `make bench` runs the sparse stream (one generated day every three days) under each Splunk
# Python, then the dense one (the generated days overlap, so the lookback holds far more evidence)
# under Splunk 9's Python. Numbers only; build/bench.json and build/bench-dense.json.
BENCH_ROWS ?= 1000000
BENCH_DENSE_PYTHON ?= $(shell $(PY) -c "import sys; from devtools.scp import runtime; print(runtime('3.9') or sys.executable)")
.PHONY: bench bench-dense
bench: vendor
	$(PY) -m devtools.bench --rows $(BENCH_ROWS) --json build/bench.json
	$(MAKE) --no-print-directory bench-dense

bench-dense: vendor
	$(PY) -m devtools.bench --rows $(BENCH_ROWS) --spacing 600 --stream build/bench/dense.csvchunks \
	  --json build/bench-dense.json --python $(BENCH_DENSE_PYTHON)
