"""``guardrail_notify``: the webhook alert action (Slack, Teams or plain JSON).

The stages, one module each (the adapter is ``bin/guardrail_notify.py``)::

    config     the action's parameters and the destination rules they enforce
    url        the one URL parser: refuses what two parsers could read differently
    addresses  which resolved addresses may be connected to (public, or listed by an admin)
    secret     the webhook secret, read from Splunk's storage/passwords
    results    the results file read within bounds: shown rows parsed, the rest counted
    message    the message built from those rows
    transport  the small HTTP surface delivery needs (routes of checked addresses, responses)
    client     that surface on standard-library sockets: one deadline, bounded reads
    send       delivery: address checks per attempt, deadlines, retries, same-origin redirects
    action     the whole run: payload -> config -> secret -> message -> delivery -> exit code
"""
