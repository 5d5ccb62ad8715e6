"""A griffe extension for the docs site (mkdocs.yml): render the docstrings' Sphinx markup as Markdown.

The docstrings are written for ``help()`` and Sphinx-style readers: ``:class:`~isaac_rerun.recorder.Recorder```,
``:meth:`close```, ``text::`` before a literal block. mkdocstrings renders docstrings as Markdown, where these would
show verbatim. This extension rewrites them when griffe has loaded the package (static analysis, nothing imported):

- a role becomes an *optional* cross-reference (mkdocs-autorefs): a link where the target is rendered on the site,
  plain code otherwise (external names such as ``gymnasium.wrappers.RecordVideo``), never a warning. Names are resolved
  from the docstring's own scope, as Sphinx does (``:meth:`close``` inside a class, ``:class:`Recorder``` in a module
  that imports it); ``~`` shows the last component only, ``title <target>`` shows the title;
- ``text::`` closing a paragraph before a literal block becomes ``text:`` (the indented block is Markdown code);
- in a section that is not one of numpydoc's (``Counters`` / ``-------``, which mkdocstrings shows as a box), an RST
  definition list (a term, its definition indented below it) becomes a Markdown definition list (``def_list``), and
  an RST simple table (``====  ====`` borders) a Markdown table, or a definition list when it has two columns and no
  header; such a table is converted in the docstring's text before its first section too.

Only the rendered text changes; the source files are not touched.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|mod|attr|data|exc|obj|const):`(?P<body>[^`]+)`")
_LITERAL_BLOCK = re.compile(r"(?<=\S)::(?=\n[ \t]*\n)")
_UNDERLINE = re.compile(r"-{3,}")
_TABLE_BORDER = re.compile(r"=+(?: +=+)+")
# numpydoc's own sections (griffe parses these: left alone); any other underlined title is free text
_NUMPY_SECTIONS = {
    "parameters", "other parameters", "type parameters", "returns", "yields", "receives", "raises", "warns",
    "examples", "attributes", "functions", "methods", "classes", "type aliases", "modules", "deprecated",
}  # fmt: skip


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles and ``::`` literal-block markers in every docstring of the loaded package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _rewrite(obj.docstring.value, obj, loader)


def _walk(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _rewrite(text: str, scope: griffe.Object, loader: griffe.GriffeLoader) -> str:
    def role(match: re.Match[str]) -> str:
        body = match["body"].strip()
        titled = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", body)
        if titled:
            title, target = titled["title"], titled["target"]
        else:
            target = body.lstrip("~!")
            title = target.rsplit(".", 1)[-1] if body.startswith("~") else target
        identifier = _resolve(target, scope, loader)
        return f'<autoref identifier="{html.escape(identifier)}" optional><code>{html.escape(title)}</code></autoref>'

    return _LITERAL_BLOCK.sub(":", _ROLE.sub(role, _free_sections(text)))  # tables first: columns by offset


def _free_sections(text: str) -> str:
    """RST definition lists and simple tables in the non-numpydoc sections (tables also before the first section),
    as Markdown."""
    lines = text.split("\n")
    out: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE.fullmatch(nxt.strip()):
            section = line.strip().lower()
            out += [line, nxt]
            i += 2
            continue
        free = section and section not in _NUMPY_SECTIONS
        if (free or not section) and _TABLE_BORDER.fullmatch(line):  # a table may also open the docstring's text
            end = next((j for j in range(i + 1, len(lines)) if _TABLE_BORDER.fullmatch(lines[j])), None)
            if end is not None:
                header: list[str] | None = None
                rows, last = _table_rows(line, lines[i + 1 : end]), end
                third = next(
                    (
                        j
                        for j in range(end + 1, len(lines))
                        if not lines[j].strip() or _TABLE_BORDER.fullmatch(lines[j])
                    ),
                    None,
                )
                if len(rows) == 1 and third is not None and third > end + 1 and lines[third].strip():
                    header, rows, last = rows[0], _table_rows(line, lines[end + 1 : third]), third  # with a header row
                out += _markdown_table(header, rows)
                i = last + 1
                continue
        if free and line.strip() and not line.startswith(" ") and nxt.startswith("    ") and nxt.strip():
            if out and out[-1].strip() and not _UNDERLINE.fullmatch(out[-1].strip()):
                out.append("")
            out += [line, ":   " + nxt[4:]]
            i += 2
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _table_rows(border: str, body: list[str]) -> list[list[str]]:
    """Cells of an RST simple table's rows; a line whose first column is blank continues the row above."""
    starts = [m.start() for m in re.finditer(r"=+", border)]
    rows: list[list[str]] = []
    for line in body:
        if not line.strip():
            continue
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        if rows and not cells[0]:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def _markdown_table(header: list[str] | None, rows: list[list[str]]) -> list[str]:
    if header is None and rows and len(rows[0]) == 2:
        out: list[str] = []
        for term, definition in rows:
            out += ["", term, f":   {definition}"]
        return [*out, ""]
    cols = len(rows[0]) if rows else len(header or [])
    head = header or [""] * cols
    table = ["| " + " | ".join(head) + " |", "|" + " --- |" * cols]
    table += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return ["", *table, ""]


def _resolve(target: str, scope: griffe.Object, loader: griffe.GriffeLoader) -> str:
    """The full path of ``target`` seen from ``scope`` (aliases followed), or ``target`` itself if unknown."""
    head, _, rest = target.partition(".")
    try:
        path = scope.resolve(head)
    except Exception:
        path = head
    path = f"{path}.{rest}" if rest else path
    try:
        obj = loader.modules_collection[path]
        if obj.is_alias:
            obj = obj.final_target
        return obj.path
    except Exception:
        return target
