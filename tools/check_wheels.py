"""Check built wheels and sdists: contents, metadata, and imports beside only cyclone-core.

Usage: python tools/check_wheels.py DIST_DIR

For every cyclone wheel in DIST_DIR this script
  1. reads its METADATA and fails if a ``Requires-Dist`` names a cyclone
     distribution other than cyclone-core (the design card's one rule), or
     names cyclone-core without a ``<NEXT_MAJOR`` upper bound and a lower bound
     no newer than this release;
  2. fails if the wheel ships ``cyclone/__init__.py`` (it would break the
     PEP 420 namespace for every other distribution);
  3. checks the metadata a user sees on the index: the version in VERSION,
     the Apache-2.0 licence expression, the LICENSE file (the root LICENSE,
     byte for byte, in the wheel and in the sdist), the classifiers (every
     supported Python, ``Typing :: Typed``, ``Framework :: Twisted``, a
     development status) and the project URLs;
  4. checks the PEP 561 markers: ``cyclone/py.typed`` ships in cyclone-core
     only (one owner, so uninstalling another distribution cannot remove it),
     and every regular package in a wheel (``cyclone/<name>/__init__.py``)
     has its own ``py.typed``, which pyright needs for ``import cyclone.<name>``;
  5. creates a fresh virtual environment, installs the cyclone-core wheel and
     this wheel (third-party requirements come from the index), and imports
     every module the wheel ships; a module that says it needs an extra of
     this wheel (``pip install 'cyclone-web[client]'``) is imported again once
     that extra is installed;
  6. in cyclone-web's environment, checks that ``import cyclone.web`` loads
     neither the HTTP client (treq), TLS (OpenSSL) nor ``twisted.trial``.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile

from packaging.specifiers import SpecifierSet
from packaging.version import Version

CYCLONE_REQUIREMENT = re.compile(r"^\s*(cyclone[-_.][A-Za-z]+)\s*([^;]*)", re.IGNORECASE)
ROOT = pathlib.Path(__file__).resolve().parent.parent
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
REQUIRED_CLASSIFIERS = (
    *(f"Programming Language :: Python :: {version}" for version in SUPPORTED_PYTHONS),
    "Typing :: Typed",
    "Framework :: Twisted",
)
REQUIRED_URLS = ("Documentation", "Source", "Changelog", "Issues")
#: Modules that ``import cyclone.web`` must not load where cyclone-web is installed alone.
NOT_LOADED_BY_CYCLONE_WEB = ("treq", "OpenSSL", "twisted.trial")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata_fields(text: str) -> dict[str, list[str]]:
    """The header fields of a METADATA/PKG-INFO document (the body is the README)."""
    fields: dict[str, list[str]] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        name, _, value = line.partition(": ")
        fields.setdefault(name, []).append(value.strip())
    return fields


def _sibling_bound_problems(label: str, specifier: str, version: str) -> list[str]:
    """A requirement on cyclone-core must read ``>=LOW,<NEXT_MAJOR`` with LOW <= version."""
    this = Version(version)
    problems = []
    specifiers = list(SpecifierSet(specifier))
    lower = [s for s in specifiers if s.operator == ">="]
    upper = [s for s in specifiers if s.operator == "<"]
    if not lower or Version(lower[0].version) > this:
        problems.append(f"{label}: cyclone-core{specifier} lacks a lower bound <= {version}")
    if not upper or Version(upper[0].version) != Version(str(this.major + 1)):
        problems.append(f"{label}: cyclone-core{specifier} lacks the bound <{this.major + 1}")
    return problems


def metadata_problems(label: str, fields: dict[str, list[str]]) -> list[str]:
    """What is missing or wrong in one distribution's core metadata."""
    problems: list[str] = []
    version = (ROOT / "VERSION").read_text().strip()
    if fields.get("Version") != [version]:
        problems.append(f"{label}: version {fields.get('Version')} is not VERSION's {version}")
    if fields.get("License-Expression") != ["Apache-2.0"]:
        problems.append(f"{label}: License-Expression is {fields.get('License-Expression')}")
    if "LICENSE" not in fields.get("License-File", []):
        problems.append(f"{label}: no License-File: LICENSE")
    classifiers = fields.get("Classifier", [])
    for classifier in REQUIRED_CLASSIFIERS:
        if classifier not in classifiers:
            problems.append(f"{label}: missing classifier {classifier!r}")
    if not any(c.startswith("Development Status :: ") for c in classifiers):
        problems.append(f"{label}: no Development Status classifier")
    urls = {
        u.split(",", 1)[0].strip(): u.split(",", 1)[1].strip()
        for u in fields.get("Project-URL", [])
    }
    for label_name in REQUIRED_URLS:
        if not urls.get(label_name, "").startswith("https://"):
            problems.append(f"{label}: no https Project-URL {label_name!r}")
    for requirement in fields.get("Requires-Dist", []):
        match = CYCLONE_REQUIREMENT.match(requirement)
        if not match:
            continue
        if _normalise(match.group(1)) != "cyclone-core":
            problems.append(f"{label}: depends on {match.group(1)}")
        else:
            problems.extend(_sibling_bound_problems(label, match.group(2), version))
    return problems


def sdist_problems(sdist: pathlib.Path) -> list[str]:
    """The sdist carries the LICENSE and the same metadata as its wheel."""
    problems: list[str] = []
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1]: m for m in archive.getmembers() if "/" in m.name}
        license_member = members.get("LICENSE")
        if license_member is None or not license_member.isfile():
            problems.append(f"{sdist.name}: no LICENSE file")
        else:
            extracted = archive.extractfile(license_member)
            assert extracted is not None
            if extracted.read() != (ROOT / "LICENSE").read_bytes():
                problems.append(f"{sdist.name}: LICENSE differs from the repository's")
        pkg_info = archive.extractfile(members["PKG-INFO"])
        assert pkg_info is not None
        problems.extend(metadata_problems(sdist.name, _metadata_fields(pkg_info.read().decode())))
    return problems


def wheel_problems(wheel: pathlib.Path) -> tuple[list[str], list[str]]:
    """Return (problems, importable module names) for one wheel."""
    problems: list[str] = []
    modules: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(metadata_name).decode()
        license_name = metadata_name.replace("/METADATA", "/licenses/LICENSE")
        if license_name not in names:
            problems.append(f"{wheel.name}: no {license_name}")
        elif archive.read(license_name) != (ROOT / "LICENSE").read_bytes():
            problems.append(f"{wheel.name}: LICENSE differs from the repository's")
    problems.extend(metadata_problems(wheel.name, _metadata_fields(metadata)))
    is_core = wheel.name.startswith("cyclone_core-")
    if is_core and "cyclone/py.typed" not in names:
        problems.append(f"{wheel.name}: cyclone-core must ship cyclone/py.typed")
    if not is_core and "cyclone/py.typed" in names:
        problems.append(f"{wheel.name}: ships cyclone/py.typed, which cyclone-core owns")
    for name in names:
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "cyclone" and parts[2] == "__init__.py":
            marker = f"cyclone/{parts[1]}/py.typed"
            if marker not in names:
                problems.append(f"{wheel.name}: package cyclone.{parts[1]} has no {marker}")
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


_IMPORT_EVERY_MODULE = """
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as error:
        failed[name] = str(error)
print(json.dumps(failed))
"""

_LOADED_BY_CYCLONE_WEB = """
import json, sys
import cyclone.web
print(json.dumps([name for name in sys.argv[1:] if name in sys.modules]))
"""


def _environment(scratch: str, wheels: list[str]) -> str:
    """A fresh virtual environment with these wheels installed; returns its python."""
    python = str(pathlib.Path(scratch) / "bin" / "python")
    uv = shutil.which("uv")
    if uv:
        # uv caches resolved wheels, so eight fresh environments stay fast.
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, scratch], check=True)
        subprocess.run([uv, "pip", "install", "-q", "-p", python, *wheels], check=True)
    else:
        venv.create(scratch, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "-q", *wheels], check=True)
    return python


def _json_output(command: list[str]) -> object:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"{command[:2]} failed: {result.stderr}")
    return json.loads(result.stdout)


def import_problems(wheel: pathlib.Path, core: pathlib.Path, modules: list[str]) -> list[str]:
    """Import every module with only cyclone-core beside the wheel (then with a named extra)."""
    problems: list[str] = []
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        fields = _metadata_fields(archive.read(metadata_name).decode())
    distribution = fields["Name"][0]
    extras = fields.get("Provides-Extra", [])
    with tempfile.TemporaryDirectory() as scratch:
        targets = [str(core)] if wheel == core else [str(core), str(wheel)]
        python = _environment(scratch, targets)
        failed = _json_output([python, "-c", _IMPORT_EVERY_MODULE, *modules])
        assert isinstance(failed, dict)
        needs: dict[str, list[str]] = {}
        for module, message in failed.items():
            extra = next((e for e in extras if f"{distribution}[{e}]" in message), None)
            if extra is None:
                problems.append(f"{wheel.name}: {module} failed to import: {message}")
            else:
                needs.setdefault(extra, []).append(module)
        if distribution == "cyclone-web":
            loaded = _json_output(
                [python, "-c", _LOADED_BY_CYCLONE_WEB, *NOT_LOADED_BY_CYCLONE_WEB]
            )
            if loaded:
                problems.append(f"{wheel.name}: import cyclone.web loaded {loaded}")
        imported = len(modules) - len(failed)
        print(f"ok {wheel.name}: {imported} modules import with only cyclone-core", flush=True)
    for extra, extra_modules in needs.items():
        with tempfile.TemporaryDirectory() as scratch:
            python = _environment(
                scratch, [str(core), f"{distribution}[{extra}] @ {wheel.as_uri()}"]
            )
            failed = _json_output([python, "-c", _IMPORT_EVERY_MODULE, *extra_modules])
            assert isinstance(failed, dict)
            for module, message in failed.items():
                problems.append(f"{wheel.name}[{extra}]: {module} failed to import: {message}")
            if not failed:
                print(f"ok {wheel.name}[{extra}]: {', '.join(extra_modules)} import", flush=True)
    return problems


def main(dist_dir: str) -> int:
    dist = pathlib.Path(dist_dir)
    wheels = sorted(dist.glob("cyclone_*.whl"))
    sdists = sorted(dist.glob("cyclone_*.tar.gz"))
    core = [w for w in wheels if w.name.startswith("cyclone_core-")]
    if not core:
        print("no cyclone-core wheel found", file=sys.stderr)
        return 1
    if len(sdists) != len(wheels):
        print(f"{len(wheels)} wheels but {len(sdists)} sdists in {dist}", file=sys.stderr)
        return 1
    failures: list[str] = []
    for sdist in sdists:
        failures.extend(sdist_problems(sdist))
    for wheel in wheels:
        problems, modules = wheel_problems(wheel)
        failures.extend(problems)
        failures.extend(import_problems(wheel, core[0], modules))
    for failure in failures:
        print("FAIL", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
