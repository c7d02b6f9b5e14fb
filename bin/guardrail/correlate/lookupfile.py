"""Evidence from a CSV lookup file (``evidence=<name>``): Splunk-style rows, ``__mv_`` columns folded."""

from __future__ import annotations

import csv
import os
import re
from typing import Dict, Iterator, List, Union

from ..errors import OptionError
from .splunkcsv import MV_PREFIX, decode_mv

#: csv's field size limit while a lookup file is read (its default, 128 KiB, ends the search on a
#: longer field; the search's own chunks are read under the same limit)
FIELD_SIZE_LIMIT = 2**31 - 1

#: A lookup file name: no path separators, no "..", ASCII only.
LOOKUP_NAME = re.compile(r"^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.-]*$", re.ASCII)


def lookup_path(lookups_dir: str, name: str) -> str:
    """The file of lookup ``name`` in ``lookups_dir`` (``.csv`` added when missing); never outside it."""
    if not LOOKUP_NAME.match(name):
        raise OptionError("evidence", name, "expected a lookup file name such as identity_evidence.csv")
    file_name = name if name.lower().endswith(".csv") else name + ".csv"
    path = os.path.join(lookups_dir, file_name)
    if not os.path.isfile(path):
        raise OptionError("evidence", name, f"no lookup file {file_name} in this app's lookups folder")
    return path


def read_rows(path: str) -> Iterator[Dict[str, Union[str, List[str]]]]:
    """Rows of a lookup CSV; a non-empty ``__mv_<field>`` column becomes that field's list of values."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        # a NUL ends csv's reading under Python 3.9: it becomes U+FFFD, as in the search's own rows
        for row in csv.DictReader(line.replace("\0", "\ufffd") for line in handle):
            out: Dict[str, Union[str, List[str]]] = {}
            for key, value in row.items():
                if key is None or key.startswith(MV_PREFIX):
                    continue
                values = decode_mv(row.get(MV_PREFIX + key) or "")
                out[key] = values if values is not None else value or ""
            yield out
