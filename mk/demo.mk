# --- demo: the motivating case end to end through the real protocol (devtools/demo.py) ---
.PHONY: demo
demo: vendor
	$(PY) -m devtools.demo
