"""``guardrail_notify``: the webhook alert action (Slack, Teams or plain JSON).

The stages, one module each (the adapter is ``bin/guardrail_notify.py``)::

    config     the action's parameters and the destination rules they enforce
    secret     the webhook secret, read from Splunk's storage/passwords
    message    the results file read within bounds, and the message built from it
    transport  the small HTTP surface the engine needs (the adapter implements it with requests)
    send       delivery: retries, backoff, Retry-After, redirects only to the same host
    action     the whole run: payload -> config -> secret -> message -> delivery -> exit code
"""
