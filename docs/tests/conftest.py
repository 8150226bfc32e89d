"""The documentation's tests import the tutorial's guestbook package and the example programs."""

from __future__ import annotations

import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DOCS / "tutorial"))
