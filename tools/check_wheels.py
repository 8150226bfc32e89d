"""Check built wheels: each installs beside only cyclone-core and imports cleanly.

Usage: python tools/check_wheels.py DIST_DIR

For every cyclone wheel in DIST_DIR this script
  1. reads its METADATA and fails if a ``Requires-Dist`` names a cyclone
     distribution other than cyclone-core (the design card's one rule);
  2. fails if the wheel ships ``cyclone/__init__.py`` (it would break the
     PEP 420 namespace for every other distribution);
  3. creates a fresh virtual environment, installs the cyclone-core wheel and
     this wheel (third-party requirements come from the index), and imports
     every module the wheel ships.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import venv
import zipfile

CYCLONE_REQUIREMENT = re.compile(r"^\s*(cyclone[-_.][A-Za-z]+)", re.IGNORECASE)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_problems(wheel: pathlib.Path) -> tuple[list[str], list[str]]:
    """Return (problems, importable module names) for one wheel."""
    problems: list[str] = []
    modules: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:"):
            match = CYCLONE_REQUIREMENT.match(line.split(":", 1)[1])
            if match and _normalise(match.group(1)) != "cyclone-core":
                problems.append(f"{wheel.name}: depends on {match.group(1)}")
    for shadowing in ("cyclone/__init__.py", "twisted/__init__.py", "twisted/plugins/__init__.py"):
        # Each would replace a package owned by another distribution (or by Twisted).
        if shadowing in names:
            problems.append(f"{wheel.name}: ships {shadowing}")
    for name in names:
        if name.startswith("cyclone/") and name.endswith(".py") and "/tests/" not in name:
            module = name[:-3].replace("/", ".")
            if module.endswith(".__init__"):
                module = module[: -len(".__init__")]
            if module.endswith("__main__"):
                continue
            modules.append(module)
    return problems, modules


def main(dist_dir: str) -> int:
    dist = pathlib.Path(dist_dir)
    wheels = sorted(dist.glob("cyclone_*.whl"))
    core = [w for w in wheels if w.name.startswith("cyclone_core-")]
    if not core:
        print("no cyclone-core wheel found", file=sys.stderr)
        return 1
    failures: list[str] = []
    for wheel in wheels:
        problems, modules = wheel_problems(wheel)
        failures.extend(problems)
        with tempfile.TemporaryDirectory() as scratch:
            python = str(pathlib.Path(scratch) / "bin" / "python")
            uv = shutil.which("uv")
            if uv:
                # uv caches resolved wheels, so eight fresh environments stay fast.
                subprocess.run([uv, "venv", "-q", "-p", sys.executable, scratch], check=True)
                install = [uv, "pip", "install", "-q", "-p", python, str(core[0])]
            else:
                venv.create(scratch, with_pip=True)
                install = [python, "-m", "pip", "install", "-q", str(core[0])]
            if wheel != core[0]:
                install.append(str(wheel))
            subprocess.run(install, check=True)
            script = (
                "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
            )
            result = subprocess.run([python, "-c", script, *modules])
            if result.returncode:
                failures.append(f"{wheel.name}: a module failed to import alone with cyclone-core")
            else:
                print(f"ok {wheel.name}: {len(modules)} modules import with only cyclone-core")
    for failure in failures:
        print("FAIL", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
