"""Machine instructions per request, counted by callgrind: steady on a busy machine.

    python bench/instructions.py                      # web:hello web:json web:form web:big web:template
    python bench/instructions.py callback:hello router:hello --requests 1000

Runs ``inprocess.py`` under ``valgrind --tool=callgrind`` twice per case, with a
few requests and with ``--requests`` more, and divides the difference in
instructions by the extra requests: start-up, imports and warm-up cancel out.
Wall-clock figures move with whatever else the machine runs; instruction counts
do not, so this is the number to compare a change by when the machine is shared.
Needs ``valgrind`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_CASES = ("web:hello", "web:json", "web:form", "web:big", "web:template")


def instructions(case: str, requests: int) -> int:
    """Instructions callgrind counted for one run of ``requests`` requests of ``case``."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(HERE / "inprocess.py"),
        case,
        "--count",
        str(requests),
        "--repeats",
        "1",
    ]
    # A fixed hash seed: set and dict layouts, hence instruction counts, repeat run to run.
    environment = dict(os.environ, PYTHONHASHSEED="0")
    run = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from callgrind for {case}:\n{run.stderr}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="level:scenario as inprocess.py takes them")
    parser.add_argument("--requests", type=int, default=3000, help="extra requests counted")
    options = parser.parse_args()
    for case in options.cases or DEFAULT_CASES:
        base = instructions(case, 50)
        more = instructions(case, 50 + options.requests)
        print(f"{case:16s} {(more - base) / options.requests:12,.0f} instructions/request")


if __name__ == "__main__":
    main()
