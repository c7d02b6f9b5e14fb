# --- bench-scale: one business hour at 10k employees, correlated unnarrowed and narrowed ---
# devtools/bench_scale.py (docs/scale.md): the volume model streamed once through the engine, full,
# narrowed and per scheduled run; the largest run also through the real command over SCP v2.
# Numbers only, build/bench-scale.json; not part of `make test`.
BENCH_SCALE_EMPLOYEES ?= 10000
.PHONY: bench-scale
bench-scale: vendor
	$(PY) -m devtools.bench_scale --employees $(BENCH_SCALE_EMPLOYEES) --json build/bench-scale.json
