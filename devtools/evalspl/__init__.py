"""Evaluate the app's own search-time knowledge without splunkd.

There is no splunkd in the build, so this module evaluates exactly the subset of SPL the app's
``props.conf`` / ``macros.conf`` use, the way Splunk does, over sample events:

* ``flatten_json``: the field names and values ``KV_MODE = json`` gives a JSON event
  (``a.b.c``, ``a{}.b`` for arrays, every value a string, arrays of values multivalue), read only
  up to ``limits.conf [spath] extraction_cutoff`` (5000 bytes by default).
* ``evaluate``: an ``eval`` expression. Only the functions in ``FUNCTIONS`` exist; anything else
  raises ``EvalError``, so a test fails the day someone uses a function this module does not model.
* ``spath_json``: the eval function ``spath(X, "<path>")`` on JSON, which reads the whole value
  (an explicit path is not bounded by ``extraction_cutoff``).
* ``apply_props``: one sourcetype stanza: every ``EVAL-*`` evaluated in parallel against the
  extracted fields (as splunkd does: no EVAL sees another's result), then the ``LOOKUP-*``;
  ``merge_stanzas`` + ``apply_stanza`` do the same for one sourcetype configured by several apps.
* ``run_pipeline``: the pipelines of the macros and saved searches (``eval``, ``lookup``, ``where``,
  ``stats``, ``sort``, ``inputlookup``/``outputlookup`` ...: the list is in ``pipeline.py``); any
  other command or option raises.
* ``Lookup``: a CSV or KV store lookup with the ``match_type`` (CIDR / WILDCARD / EXACT),
  ``max_matches`` and ``case_sensitive_match`` of its ``transforms.conf`` stanza.
* ``KVStore``: the app's KV store collections (site data and triage state live there).
* ``extract_time``: ``TIME_PREFIX`` + ``MAX_TIMESTAMP_LOOKAHEAD`` + ``TIME_FORMAT`` on ``_raw``.
* ``run_search``: a whole search (subsearches, base search with time modifiers, then the
  pipeline's commands) over a modelled set of events, the KV store and custom commands.

Values are ``None`` (null), ``str``, ``float`` / ``int``, ``bool`` or a ``list`` of strings
(a multivalue field). Modelling choices where Splunk's behaviour is not spelled out are marked
"assumption" below and listed in docs/knowledge.md.
"""

from .evaluate import FUNCTIONS, Context, Evaluator, as_field, evaluate, fields_referenced, functions_used
from .kvjson import EXTRACTION_CUTOFF, flatten_json, json_extract_object, spath_json
from .kvstore import KVStore
from .lookups import Lookup, apply_lookup, kvstore_lookups, load_examples
from .parser import Node, Parser, Token, tokenize
from .pipeline import COMMANDS, SearchContext, rename_pairs, run_pipeline
from .props import apply_props, apply_stanza, extract_time, merge_stanzas, props_stanza
from .search import SearchParser, search_matches, with_eventtypes
from .spl import Env, run_search
from .values import EvalError, Fields, Value

__all__ = [
    "COMMANDS",
    "EXTRACTION_CUTOFF",
    "FUNCTIONS",
    "Context",
    "Env",
    "EvalError",
    "Evaluator",
    "Fields",
    "KVStore",
    "Lookup",
    "Node",
    "Parser",
    "SearchContext",
    "SearchParser",
    "Token",
    "Value",
    "apply_lookup",
    "apply_props",
    "apply_stanza",
    "as_field",
    "evaluate",
    "extract_time",
    "fields_referenced",
    "flatten_json",
    "functions_used",
    "json_extract_object",
    "kvstore_lookups",
    "load_examples",
    "merge_stanzas",
    "props_stanza",
    "rename_pairs",
    "run_pipeline",
    "run_search",
    "search_matches",
    "spath_json",
    "tokenize",
    "with_eventtypes",
]
