"""GCP Guardrail Monitor engine: pure Python, no Splunk imports.

Everything Splunk-specific (the search command protocol, the alert action entry point) lives in the
thin adapters in ``bin/``; this package holds the logic they call so it can be tested on its own.
"""

__version__ = "1.0.0"
