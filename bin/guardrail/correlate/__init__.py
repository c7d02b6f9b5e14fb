"""``correlatepolicydenied``: name the person behind a masked Google Cloud Policy Denied call.

The pipeline, one module a stage (the adapter is ``bin/correlatepolicydenied.py``)::

    options   the command's options: one table (name, parser, bounds, default, help)
    gcp       reading Cloud Audit Logs entries (both _raw shapes, extracted fields)
    evidence  reading endpoint evidence (CIM by tag, CrowdStrike FDR) into typed records
    index     time-indexed evidence stores, keyed the ways the chains look evidence up
    rules     the evidence chains: plain functions from a denied call to leads
    decide    from leads to a verdict: who, how sure, who else, and why
    engine    the streaming loop: hold each denied event until its evidence has streamed past
    render    the output row: input fields plus the contract's fields (Splunk CSV, multivalue)

Supporting modules: ``model`` (the values the stages pass), ``netaddr`` (addresses as addresses),
``splunkcsv`` (Splunk's multivalue CSV encoding), ``lookupfile`` (the ``evidence=`` lookup).
"""
