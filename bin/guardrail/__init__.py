"""GCP Guardrail Monitor engine: pure Python, no Splunk imports.

Everything Splunk-specific (the search command protocol, the alert action entry point) lives in the
thin adapters in ``bin/``; this package holds the logic they call so it can be tested on its own.
One package per product, none importing another::

    guardrail/
    ├── __init__.py   the app's version (app.conf and app.manifest are held to it)
    ├── errors.py     the root error every product's errors derive from
    ├── correlate/    correlatepolicydenied: masked Policy Denied calls → people
    ├── notify/       guardrail_notify: the webhook alert action
    └── configcost/   configcost: AWS Config recording cost, continuous versus daily
"""

__version__ = "1.0.0"
