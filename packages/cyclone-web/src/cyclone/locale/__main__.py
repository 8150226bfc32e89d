"""Command line for translation catalogs: extract, init, update and compile.

    python -m cyclone.locale extract -o foobar.pot foobar.tac template/
    python -m cyclone.locale init -i foobar.pot -d locale -D foobar -l pt_BR
    python -m cyclone.locale update -i foobar.pot -d locale -D foobar
    python -m cyclone.locale compile -d locale -D foobar

``extract`` reads Python files (``.py``, ``.tac``) with :mod:`ast` and
templates with cyclone's template syntax, so no ``xgettext`` pre-processing
is needed.  ``compile`` writes ``.mo`` files itself; GNU gettext is not needed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import sys
import tokenize
from collections.abc import Sequence

from cyclone.locale.extract import (
    DEFAULT_KEYWORDS,
    ExtractedCall,
    extract_python,
    extract_template,
    is_python_format,
    message_parts,
)
from cyclone.locale.mo import CatalogError, compile_po_file
from cyclone.locale.names import LOCALE_NAMES, plural_forms_for
from cyclone.locale.po import Catalog, Message, PoSyntaxError, read_po, write_po

PYTHON_EXTENSIONS = (".py", ".pyw", ".tac")
TEMPLATE_EXTENSIONS = (".html", ".htm", ".xml", ".txt", ".tmpl", ".j2")
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", "venv", ".venv"})


class CommandError(Exception):
    """A problem with the command's input, reported as one line on stderr."""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M+0000")


def _header_entry(fields: list[tuple[str, str]], fuzzy: bool) -> Message:
    return Message(
        id="",
        strings=["".join(f"{name}: {value}\n" for name, value in fields)],
        flags=["fuzzy"] if fuzzy else [],
    )


def _template_header(project: str, version: str) -> list[tuple[str, str]]:
    return [
        ("Project-Id-Version", f"{project} {version}".strip()),
        ("Report-Msgid-Bugs-To", ""),
        ("POT-Creation-Date", _now()),
        ("PO-Revision-Date", "YEAR-MO-DA HO:MI+ZONE"),
        ("Last-Translator", "FULL NAME <EMAIL@ADDRESS>"),
        ("Language-Team", "LANGUAGE <LL@li.org>"),
        ("Language", ""),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("Content-Transfer-Encoding", "8bit"),
        ("Plural-Forms", "nplurals=INTEGER; plural=EXPRESSION;"),
    ]


def _source_files(paths: Sequence[str], template_extensions: Sequence[str]) -> list[str]:
    """Expand directories into the Python and template files they contain, sorted."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, directories, names in os.walk(path):
                directories[:] = sorted(
                    name
                    for name in directories
                    if not name.startswith(".") and name not in _SKIPPED_DIRECTORIES
                )
                for name in sorted(names):
                    if name.endswith(PYTHON_EXTENSIONS + tuple(template_extensions)):
                        files.append(os.path.join(root, name))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise CommandError(f"no such file or directory: {path!r}")
    return files


def _extract_file(
    path: str, keywords: Sequence[str], comment_tags: Sequence[str]
) -> list[ExtractedCall]:
    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    if path.endswith(PYTHON_EXTENSIONS):
        with tokenize.open(path) as stream:
            source = stream.read()
        try:
            return extract_python(source, keywords, comment_tags, path, warn)
        except SyntaxError as error:
            raise CommandError(
                f"{path}:{error.lineno}: cannot parse Python: {error.msg}"
            ) from error
    with open(path, encoding="utf-8") as stream:
        return extract_template(stream.read(), keywords, comment_tags, path, warn)


def build_template_catalog(
    paths: Sequence[str],
    keywords: Sequence[str] = DEFAULT_KEYWORDS,
    comment_tags: Sequence[str] = ("TRANSLATORS:",),
    template_extensions: Sequence[str] = TEMPLATE_EXTENSIONS,
    project: str = "PROJECT",
    version: str = "VERSION",
) -> Catalog:
    """Extract every message in ``paths`` into a POT catalog, in order of appearance."""
    catalog = Catalog(
        messages=[_header_entry(_template_header(project, version), fuzzy=True)],
        header_comments=[f"Translations template for {project}."],
    )
    by_key: dict[tuple[str | None, str], Message] = {}
    for path in _source_files(paths, template_extensions):
        reference = path.replace(os.sep, "/")
        for call in _extract_file(path, keywords, comment_tags):
            parts = message_parts(call)
            if parts is None:
                continue
            context, message_id, plural = parts
            if message_id == "":
                print(f"warning: {reference}:{call.lineno}: empty msgid skipped", file=sys.stderr)
                continue
            message = by_key.get((context, message_id))
            if message is None:
                message = Message(id=message_id, context=context)
                by_key[message.key] = message
                catalog.messages.append(message)
            if plural is not None and message.id_plural is None:
                message.id_plural = plural
            if (reference, call.lineno) not in message.locations:
                message.locations.append((reference, call.lineno))
            for comment in call.comments:
                if comment not in message.auto_comments:
                    message.auto_comments.append(comment)
    for message in catalog.messages[1:]:
        message.strings = ["", ""] if message.id_plural is not None else [""]
        texts = [message.id] + ([message.id_plural] if message.id_plural else [])
        if any(is_python_format(text) for text in texts):
            message.flags.append("python-format")
    return catalog


def _write(path: str, data: bytes) -> None:
    if path == "-":
        sys.stdout.buffer.write(data)
        return
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "wb") as stream:
        stream.write(data)


def _read_catalog(path: str) -> Catalog:
    try:
        with open(path, "rb") as stream:
            return read_po(stream, path)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from error
    except PoSyntaxError as error:
        raise CommandError(str(error)) from error


def _set_header(catalog: Catalog, updates: dict[str, str], fuzzy: bool | None = None) -> None:
    fields = list(catalog.header.items())
    names = [name for name, _ in fields]
    for name, value in updates.items():
        if name in names:
            fields[names.index(name)] = (name, value)
        else:
            fields.append((name, value))
    old = catalog.find("")
    header = _header_entry(fields, fuzzy=bool(old and old.fuzzy) if fuzzy is None else fuzzy)
    if old is not None:
        header.user_comments = old.user_comments
        catalog.messages[catalog.messages.index(old)] = header
    else:
        catalog.messages.insert(0, header)


def _po_path(directory: str, locale: str, domain: str) -> str:
    return os.path.join(directory, locale, "LC_MESSAGES", domain + ".po")


def init_catalog(template: Catalog, locale: str) -> Catalog:
    """Start a translation of ``template`` for ``locale`` with that language's plural rule."""
    plural_forms = plural_forms_for(locale)
    nplurals = int(re.search(r"nplurals=(\d+)", plural_forms).group(1))  # type: ignore[union-attr]
    name = LOCALE_NAMES.get(locale, {}).get("name_en", locale)
    catalog = Catalog(header_comments=[f"{name} translations."])
    for message in template.messages:
        if message.id == "" and message.context is None:
            continue
        catalog.messages.append(
            Message(
                id=message.id,
                id_plural=message.id_plural,
                context=message.context,
                strings=[""] * (nplurals if message.id_plural is not None else 1),
                locations=list(message.locations),
                flags=[flag for flag in message.flags if flag != "fuzzy"],
                auto_comments=list(message.auto_comments),
            )
        )
    catalog.messages.insert(0, Message(id="", strings=[""]))
    fields = dict(template.header)
    fields.update(
        {
            "PO-Revision-Date": _now(),
            "Language": locale,
            "Language-Team": name,
            "Plural-Forms": plural_forms,
        }
    )
    _set_header(catalog, fields, fuzzy=False)
    return catalog


def update_catalog(catalog: Catalog, template: Catalog) -> Catalog:
    """Bring a translation in line with a new template.

    Translations of messages still in the template are kept (with the new
    references and comments); new messages arrive untranslated; messages gone
    from the template become obsolete ``#~`` entries so no work is lost.
    """
    nplurals = catalog.nplurals
    existing = {message.key: message for message in catalog.messages if message.id != ""}
    updated = Catalog(header_comments=catalog.header_comments)
    header = catalog.find("")
    updated.messages.append(header if header is not None else Message(id="", strings=[""]))
    for entry in template.messages:
        if entry.id == "" and entry.context is None:
            continue
        old = existing.pop(entry.key, None)
        size = nplurals if entry.id_plural is not None else 1
        strings = [""] * size
        flags = [flag for flag in entry.flags if flag != "fuzzy"]
        if old is not None and not old.obsolete:
            if (old.id_plural is None) == (entry.id_plural is None):
                strings = (old.strings + strings)[:size]
            elif old.strings and old.strings[0]:
                strings[0] = old.strings[0]
                flags.append("fuzzy")  # became or stopped being plural: needs a look
            if old.fuzzy and "fuzzy" not in flags:
                flags.append("fuzzy")
        updated.messages.append(
            Message(
                id=entry.id,
                id_plural=entry.id_plural,
                context=entry.context,
                strings=strings,
                locations=list(entry.locations),
                flags=flags,
                auto_comments=list(entry.auto_comments),
                user_comments=list(old.user_comments) if old else [],
            )
        )
    for old in existing.values():
        if any(old.strings):
            old.obsolete = True
            old.locations = []
            updated.messages.append(old)
    _set_header(updated, {"POT-Creation-Date": template.header.get("POT-Creation-Date", _now())})
    return updated


def compile_file(po_path: str, mo_path: str) -> tuple[int, int]:
    """Compile one ``.po`` file; return (translated, total) message counts."""
    try:
        return compile_po_file(po_path, mo_path)
    except OSError as error:
        raise CommandError(f"cannot compile {po_path}: {error.strerror}") from error
    except (CatalogError, PoSyntaxError) as error:
        raise CommandError(str(error)) from error


def _catalog_paths(directory: str, domain: str, locale: str | None) -> list[tuple[str, str]]:
    if not os.path.isdir(directory):
        raise CommandError(f"no such directory: {directory!r}")
    locales = [locale] if locale else sorted(os.listdir(directory))
    found = []
    for code in locales:
        path = _po_path(directory, code, domain)
        if os.path.isfile(path):
            found.append((code, path))
    if not found:
        raise CommandError(f"no {domain}.po catalogs under {directory}/<lang>/LC_MESSAGES/")
    return found


def _command_extract(arguments: argparse.Namespace) -> None:
    keywords = [] if arguments.no_default_keywords else list(DEFAULT_KEYWORDS)
    keywords += arguments.keywords
    catalog = build_template_catalog(
        arguments.paths,
        keywords,
        arguments.comment_tags or ["TRANSLATORS:"],
        TEMPLATE_EXTENSIONS + tuple(arguments.template_extensions),
        arguments.project,
        arguments.version,
    )
    _write(arguments.output, write_po(catalog, omit_locations=arguments.no_location))
    count = len(catalog.messages) - 1
    if arguments.output != "-":
        print(f"extracted {count} messages to {arguments.output}", file=sys.stderr)


def _command_init(arguments: argparse.Namespace) -> None:
    output = arguments.output or _po_path(arguments.directory, arguments.locale, arguments.domain)
    if os.path.exists(output) and not arguments.force:
        raise CommandError(f"{output} exists; use 'update' (or --force to start over)")
    catalog = init_catalog(_read_catalog(arguments.input), arguments.locale)
    _write(output, write_po(catalog))
    print(f"created {output}", file=sys.stderr)


def _command_update(arguments: argparse.Namespace) -> None:
    template = _read_catalog(arguments.input)
    for _, path in _catalog_paths(arguments.directory, arguments.domain, arguments.locale):
        _write(path, write_po(update_catalog(_read_catalog(path), template)))
        print(f"updated {path}", file=sys.stderr)


def _command_compile(arguments: argparse.Namespace) -> None:
    if arguments.input:
        jobs = [
            (arguments.input, arguments.output or os.path.splitext(arguments.input)[0] + ".mo")
        ]
    else:
        jobs = [
            (path, os.path.splitext(path)[0] + ".mo")
            for _, path in _catalog_paths(arguments.directory, arguments.domain, arguments.locale)
        ]
    for po_path, mo_path in jobs:
        translated, total = compile_file(po_path, mo_path)
        print(
            f"compiled {po_path} -> {mo_path} ({translated}/{total} translated)", file=sys.stderr
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cyclone.locale", description="Manage gettext catalogs for cyclone apps."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    extract = commands.add_parser("extract", help="write a .pot template from sources")
    extract.add_argument("paths", nargs="+", help="Python files, templates or directories")
    extract.add_argument("-o", "--output", default="messages.pot", help="'-' for stdout")
    extract.add_argument("-k", "--keyword", dest="keywords", action="append", default=[],
                         help="another translation function name")  # fmt: skip
    extract.add_argument("--no-default-keywords", action="store_true")
    extract.add_argument("-c", "--add-comments", dest="comment_tags", action="append",
                         help="comment tag for translator notes (default TRANSLATORS:)")  # fmt: skip
    extract.add_argument("--template-ext", dest="template_extensions", action="append",
                         default=[], help="extra template file extension, e.g. .jinja")  # fmt: skip
    extract.add_argument("--no-location", action="store_true", help="omit #: references")
    extract.add_argument("--project", default="PROJECT")
    extract.add_argument("--version", default="VERSION")

    for name, help_text in (("init", "start a .po for a new language"),
                            ("update", "merge a new .pot into existing .po files")):  # fmt: skip
        command = commands.add_parser(name, help=help_text)
        command.add_argument("-i", "--input", required=True, help="the .pot template")
        command.add_argument("-d", "--directory", default="locale")
        command.add_argument("-D", "--domain", default="cyclone")
        command.add_argument("-l", "--locale", required=(name == "init"))
        if name == "init":
            command.add_argument(
                "-o", "--output", help="default <dir>/<lang>/LC_MESSAGES/<domain>.po"
            )
            command.add_argument("--force", action="store_true")

    compile_ = commands.add_parser("compile", help="compile .po files to .mo")
    compile_.add_argument("-d", "--directory", default="locale")
    compile_.add_argument("-D", "--domain", default="cyclone")
    compile_.add_argument("-l", "--locale")
    compile_.add_argument("-i", "--input", help="compile just this .po file")
    compile_.add_argument("-o", "--output", help="with --input: the .mo to write")
    return parser


_COMMANDS = {
    "extract": _command_extract,
    "init": _command_init,
    "update": _command_update,
    "compile": _command_compile,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 error)."""
    arguments = _parser().parse_args(argv)
    try:
        _COMMANDS[arguments.command](arguments)
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
