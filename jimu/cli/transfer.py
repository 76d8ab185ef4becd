"""``jimu export APP [--data]`` and ``jimu import FILE [--name NEW]`` (YAML, validated).

The export is the app's draft spec (``spec``), plus its records with ``--data``; importing
it into an empty database and exporting again gives the same document (ids included)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from jimu.cli.common import fail, open_jimu
from jimu.core.errors import ValidationError
from jimu.platform.specs.validate import parse_app, raise_for
from jimu.runtime.transfer import export_app, import_app

__all__ = ["register"]

FORMAT = "jimu.app/v1"


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="write an app (spec, and records with --data) as YAML to stdout")
    p.add_argument("app")
    p.add_argument("--data", action="store_true", help="include the records")
    p.add_argument("--output", "-o", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("import", help="create an app from an exported YAML file (validated first)")
    p.add_argument("file", help="the YAML file, or - for stdin")
    p.add_argument("--name", help="the new app's name (default: the name in the file)")
    p.set_defaults(func=cmd_import)


def cmd_export(args: argparse.Namespace) -> int:
    jimu = open_jimu(args)
    doc = export_app(jimu, args.app, with_data=args.data)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot read {args.file}: {exc.strerror}")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return fail(f"{args.file} is not valid YAML: {exc}")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("spec"), dict):
        return fail(f"{args.file} is not a Jimu app export (expected format: {FORMAT} and a spec)")
    spec = dict(doc["spec"])
    if args.name:
        spec["name"] = args.name
    app, findings = parse_app(spec)
    try:
        raise_for(findings, f"{args.file} does not validate")
    except ValidationError as exc:
        return fail(str(exc))
    assert app is not None
    jimu = open_jimu(args)
    counts = import_app(jimu, spec, doc.get("data") or {})
    total = sum(counts.values())
    print(f"imported app '{app.name}'" + (f" with {total} records" if total else ""))
    return 0
