"""Put the app's vendored libraries (``bin/lib``) first on ``sys.path``.

Every adapter in ``bin/`` imports this module before splunklib or requests. The path is built from
this file's location so it holds wherever Splunk unpacked the app (the folder may be renamed, and
``SPLUNK_HOME`` says nothing about which copy is running).
"""

import os
import sys

LIB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
BIN_DIR = os.path.dirname(LIB_DIR)

for _path in (BIN_DIR, LIB_DIR):
    if _path not in sys.path:
        sys.path.insert(0, _path)
