"""Write the fleet report: ``index.html`` and one page per signature, self-contained.

Jinja2 with autoescaping on for every template: titles, hosts, raw log text and
provenance are untrusted and are only ever text in the page.  The pages carry their CSS
and SVG inline and a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import jinja2

from kmend.errors import InputError
from kmend.fleetreport.model import FleetView
from kmend.fleetreport.timeline import layout

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Written:
    index: str
    pages: tuple[str, ...]


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template: .j2 files are HTML here
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(fleet: FleetView, out: Path) -> Written:
    """Render *fleet* into the directory *out* (created; existing pages are replaced)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out}: exists and is not a directory", "give a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        env = environment()
        pages: list[str] = []
        page_t = env.get_template("signature.html.j2")
        for sig in fleet.signatures:
            html = page_t.render(fleet=fleet, s=sig, tl=layout(sig.hosts, sig.events))
            _write(out / sig.page, html)
            pages.append(str(out / sig.page))
        index = out / "index.html"
        _write(index, env.get_template("index.html.j2").render(fleet=fleet))
    except OSError as exc:
        raise InputError(f"cannot write the report into {out}: {exc.strerror}",
                         "give a writable directory with -o") from exc
    return Written(str(index), tuple(pages))
