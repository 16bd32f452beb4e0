"""The finding aid: a static HTML report of the collection, for people.

A folder that works offline, opened straight from disk: ``index.html`` (a
sortable, filterable table of every bag, and charts) and one page per bag in
``bags/``.  No server, no CDN, no JS library: CSS and a few lines of vanilla
JS are inline, charts are SVG drawn here.  A Content-Security-Policy allows
only those exact inline blocks (by hash) and nothing from the network.

Titles, names and URLs come from strangers: every value goes through
``html.escape``; links are written only for http(s) URLs (the record's URL
type guarantees that).  The folder is replaced atomically (staging + rename)
and only when it is an earlier report (``.archiver-report`` marker).
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shutil
from collections import Counter
from pathlib import Path

from . import __version__, catalog
from .outcome import UsageError
from .record import ROLE_TERMS, UNKNOWN, Record, flatten

MARKER = ".archiver-report"


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page_name(bag: str) -> str:
    """A bag's detail page file name: its own name when that is plain ASCII, else a digest."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}", bag):
        return f"{bag}.html"
    return f"bag-{hashlib.sha256(bag.encode('utf-8', 'surrogateescape')).hexdigest()[:20]}.html"


def _csp_hash(block: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode("ascii") + "'"


CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d7dbe3; --accent: #2f5d8a; --bad: #a12b2b; --good: #2c6e3f; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1400px; padding: 1.2rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.meta, .muted { color: var(--muted); font-size: .9rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1.2rem; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; background: #fafbfc; margin: 0; }
.tag .muted { font-size: inherit; }
.chart h3 { font-size: .95rem; margin: 0 0 .3rem; }
.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; margin: .6rem 0; }
.filters input, .filters select { font: inherit; padding: .3rem .45rem; border: 1px solid var(--line); border-radius: 4px; }
.filters input { min-width: 18rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
thead th { position: sticky; top: 0; background: #eef1f6; font-size: .85rem; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " \\25B2"; } th[aria-sort=descending] button::after { content: " \\25BC"; }
tbody tr:hover { background: #f5f8fc; }
a { color: var(--accent); }
.pass, .success, .valid { color: var(--good); font-weight: 600; } .fail, .invalid { color: var(--bad); font-weight: 600; }
.unknown { color: var(--muted); font-style: italic; }
.tag { display: inline-block; font-size: .75rem; border: 1px solid var(--line); border-radius: 3px; padding: 0 .3rem; margin: 0 .2rem .1rem 0; background: #fff; }
code, .digest { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; word-break: break-all; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.fields dt { font-weight: 600; } dl.fields dd { margin: 0; }
"""

JS = """
(function () {
  "use strict";
  var table = document.getElementById("bags");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var q = document.getElementById("q");
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var count = document.getElementById("count");
  function fold(s) { return s.normalize("NFKD").replace(/[\\u0300-\\u036f]/g, "").toLowerCase(); }
  var texts = rows.map(function (r) { return fold(r.textContent); });
  function apply() {
    var t = fold(q.value.trim()), shown = 0;
    rows.forEach(function (r, i) {
      var ok = !t || texts[i].indexOf(t) >= 0;
      selects.forEach(function (s) {
        if (s.value && r.getAttribute("data-" + s.getAttribute("data-filter")) !== s.value) { ok = false; }
      });
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " shown";
  }
  q.addEventListener("input", apply);
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector("button");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var order = rows.map(function (r, i) { return [r.cells[col].getAttribute("data-sort") || "", i]; });
      order.sort(function (a, b) { return a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1] - b[1]; });
      rows = order.map(function (o) { return rows[o[1]]; });
      texts = rows.map(function (r) { return fold(r.textContent); });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  apply();
})();
"""


def _page(title: str, body: str, *, script: bool) -> str:
    csp = f"default-src 'none'; style-src {_csp_hash(CSS)}; img-src data:; base-uri 'none'; form-action 'none'"
    if script:
        csp += f"; script-src {_csp_hash(JS)}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"archiver {esc(__version__)}\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n"
        + (f"<script>{JS}</script>\n" if script else "")
        + "</body>\n</html>\n"
    )


# --- charts: plain SVG ------------------------------------------------------


def bar_chart(title: str, items: list[tuple[str, int]], *, width: int = 380, color: str = "#2f5d8a") -> str:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    bar_h, gap, label_w, top = 18, 6, 150, 4
    height = top + max(1, len(items)) * (bar_h + gap)
    peak = max((n for _, n in items), default=0) or 1
    scale = (width - label_w - 40) / peak
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
    ]
    if not items:
        parts.append(f'<text x="0" y="{top + 13}" font-size="12" fill="#5b6475">no documents</text>')
    for i, (label, n) in enumerate(items):
        y = top + i * (bar_h + gap)
        shown = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end" fill="#1d2330"><title>{esc(label)}</title>{esc(shown)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(1, round(n * scale))}" height="{bar_h}" rx="2" fill="{color}"></rect>')
        parts.append(f'<text x="{label_w + max(1, round(n * scale)) + 5}" y="{y + 13}" font-size="12" fill="#1d2330">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def year_of(row: dict) -> str:
    lo, hi = row.get("published_lo"), row.get("published_hi")
    if lo and hi and lo[:4] == hi[:4]:
        return lo[:4]
    return UNKNOWN if row["published"] == UNKNOWN else "spans years"


def translation_kind(row: dict) -> str:
    t = row["translation"]
    return "translated" if t in catalog.TRANSLATED else t


def charts(rows: list[dict]) -> str:
    outlets = Counter(r["outlet"] for r in rows).most_common()
    if len(outlets) > 12:
        outlets = outlets[:11] + [("other outlets", sum(n for _, n in outlets[11:]))]
    years = sorted(Counter(year_of(r) for r in rows).items(), key=lambda kv: (not kv[0].isdigit(), kv[0]))
    kinds = sorted(Counter(translation_kind(r) for r in rows).items())
    return "".join(
        f'<figure class="chart"><h3>{esc(t)}</h3>{svg}</figure>'
        for t, svg in (
            ("Documents per outlet", bar_chart("Documents per outlet", outlets)),
            ("Documents per year published", bar_chart("Documents per year published", years, color="#6b4f9e")),
            ("Translated vs original", bar_chart("Translated vs original", kinds, color="#2c6e3f")),
        )
    )


# --- pages --------------------------------------------------------------------


def _value(v) -> str:
    return '<span class="unknown">unknown</span>' if v in (None, UNKNOWN) else esc(v)


def _status(ev: dict | None, none: str) -> tuple[str, str, str]:
    """(html, filter key, sort key) for a last validation / fixity event."""
    if not ev:
        return f'<span class="unknown">{esc(none)}</span>', none, "~"
    cls = esc(ev["outcome"])
    return f'<span class="{cls}">{esc(ev["outcome"])}</span> <span class="muted">{esc(ev["datetime"])}</span>', ev["outcome"], ev["datetime"]


def _sortable(label: str) -> str:
    return f'<th scope="col"><button type="button">{esc(label)}</button></th>'


def index_page(rows: list[dict], *, generated: str, organization: str | None) -> str:
    def options(key: str, values) -> str:
        return "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in sorted(set(values)))

    body_rows = []
    for r in rows:
        val_html, val_key, val_sort = _status(r.get("validation"), "not validated")
        fix_html, _, fix_sort = _status(r.get("fixity"), "never checked")
        people = "".join(
            f'<span class="tag">{esc(p["name"])} <span class="muted">({esc(p["role"])})</span></span>' for p in r["persons"]
        )
        related = "".join(f'<span class="tag" title="{esc(x["basis"])}: {esc(x["bag"])}">{esc(x["kind"])}</span>' for x in r["related"])
        translation = r["translation"] + (f" from {r['source_language']}" if r["source_language"] != UNKNOWN else "")
        primary = r["language"].split("-")[0].lower()
        title = esc(r["title"]) if r["title"] != UNKNOWN else f'<span class="unknown">untitled</span> <code>{esc(r["name"][:48])}</code>'
        fold = catalog.fold
        body_rows.append(
            f'<tr data-outlet="{esc(r["outlet"])}" data-language="{esc(primary)}" data-translation="{esc(translation_kind(r))}" data-validation="{esc(val_key)}">'
            f'<td data-sort="{esc(fold(r["title"]))}"><a href="bags/{esc(page_name(r["name"]))}">{title}</a></td>'
            f'<td data-sort="{esc(fold(r["outlet"]))}">{_value(r["outlet"])}</td>'
            f'<td data-sort="{esc(r["language"].lower())}">{_value(r["language"])}</td>'
            f'<td data-sort="{esc(translation)}">{_value(translation if r["translation"] != UNKNOWN else UNKNOWN)}</td>'
            f'<td data-sort="{esc(r.get("published_lo") or "~")}">{_value(r["published"])}</td>'
            f'<td data-sort="{esc(r["captured"] if r["captured"] != UNKNOWN else "~")}">{_value(r["captured"])}</td>'
            f'<td data-sort="{esc(fold(" ".join(p["name"] for p in r["persons"])) or "~")}">{people or _value(UNKNOWN)}</td>'
            f'<td data-sort="{esc(val_key)}">{val_html}</td>'
            f'<td data-sort="{esc(fix_sort)}">{fix_html}</td>'
            f'<td data-sort="{esc(" ".join(x["kind"] for x in r["related"]) or "~")}">{related}</td>'
            "</tr>"
        )
    heads = "".join(_sortable(h) for h in ("Title", "Outlet", "Language", "Translation", "Published", "Captured", "People", "Validation", "Last fixity check", "Related"))
    langs = [r["language"].split("-")[0].lower() for r in rows]
    translated = sum(translation_kind(r) == "translated" for r in rows)
    who = f" of {esc(organization)}" if organization else ""
    body = f"""<header>
<h1>Finding aid{who}</h1>
<p class="meta">{len(rows)} documents, {len(set(r['outlet'] for r in rows))} outlets, {translated} translated. Generated {esc(generated)} by archiver {esc(__version__)}.</p>
</header>
<section aria-label="charts"><div class="charts">{charts(rows)}</div></section>
<h2>Documents</h2>
<div class="filters" role="search">
<input id="q" type="search" placeholder="Filter: title, outlet, person…" aria-label="Filter the table">
<select data-filter="outlet" aria-label="Outlet"><option value="">all outlets</option>{options("outlet", (r["outlet"] for r in rows))}</select>
<select data-filter="language" aria-label="Language"><option value="">all languages</option>{options("language", langs)}</select>
<select data-filter="translation" aria-label="Translation"><option value="">translated or not</option>{options("translation", (translation_kind(r) for r in rows))}</select>
<select data-filter="validation" aria-label="Validation"><option value="">any validation status</option>{options("validation", (_status(r.get("validation"), "not validated")[1] for r in rows))}</select>
<span id="count" class="muted">{len(rows)} of {len(rows)} shown</span>
</div>
<table id="bags">
<thead><tr>{heads}</tr></thead>
<tbody>
{chr(10).join(body_rows)}
</tbody>
</table>"""
    return _page("Finding aid", body, script=True)


def _origin(origin: dict) -> str:
    return f'<span class="muted">{esc(catalog.describe_origin(origin))}</span>'


def bag_page(row: dict, record_json: str | None, files: list[dict], events: list[dict], problem: str | None) -> str:
    parts = [f'<p><a href="../index.html">← all documents</a></p><h1>{_value(row["title"])}</h1>',
             f'<p class="meta">bag <code>{esc(row["name"])}</code><br>id <code>{esc(row["id"])}</code></p>']
    if record_json is None:
        parts.append(f'<p class="fail">record: {esc(problem or "missing")}</p>')
    else:
        rec = Record.model_validate_json(record_json)
        fields = []
        for path, fact in flatten(rec).items():
            value = fact.value
            shown = (f'<a href="{esc(value)}" rel="noreferrer">{esc(value)}</a>'
                     if isinstance(value, str) and value.startswith(("http://", "https://")) else _value(value))
            fields.append(f"<dt>{esc(path)}</dt><dd>{shown} {_origin(fact.origin.model_dump())}</dd>")
        parts.append("<h2>Record</h2><dl class=\"fields\">" + "".join(fields) + "</dl>")
        if rec.persons:
            parts.append("<h2>People</h2><ul>" + "".join(
                f"<li>{esc(p.name)} ({esc(ROLE_TERMS.get(p.role, p.role))})"
                + (f" — also {esc(', '.join(p.aliases))}" if p.aliases else "") + f" {_origin(p.origin.model_dump())}</li>"
                for p in rec.persons) + "</ul>")
        if rec.notes:
            parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n.text)} {_origin(n.origin.model_dump())}</li>" for n in rec.notes) + "</ul>")
    if row["related"]:
        parts.append("<h2>Related bags</h2><ul>" + "".join(
            f'<li>{esc(x["kind"])}: <a href="{esc(page_name(x["bag"]))}">{esc(x["bag"])}</a> <span class="muted">({esc(x["basis"])}{", " + esc(x["direction"]) if x.get("direction") else ""})</span></li>'
            for x in row["related"]) + "</ul>")
    parts.append("<h2>History</h2><table><thead><tr><th>Date</th><th>Event</th><th>Outcome</th><th>Detail</th><th>Agent</th></tr></thead><tbody>"
                 + "".join(f'<tr><td>{esc(e["datetime"])}</td><td>{esc(e["eventType"])}</td><td class="{esc(e["outcome"])}">{esc(e["outcome"])}</td>'
                           f'<td>{esc(e["detail"])}</td><td>{esc(e["agent"])}</td></tr>' for e in events)
                 + "</tbody></table>")
    parts.append("<h2>Files</h2><table><thead><tr><th>Path</th><th>Size</th><th>Algorithm</th><th>Checksum</th></tr></thead><tbody>"
                 + "".join(f'<tr><td><code>{esc(f["path"])}</code></td><td>{esc(f["size"] if (f["size"] or 0) >= 0 else "missing")}</td>'
                           f'<td>{esc(f["algorithm"])}</td><td class="digest">{esc(f["digest"])}</td></tr>' for f in files)
                 + "</tbody></table>")
    return _page(f"{row['title']} — {row['name']}", "\n".join(parts), script=False)


# --- the command --------------------------------------------------------------


def _organization() -> str | None:
    try:
        from . import config

        return config.load().organization
    except Exception:  # noqa: BLE001 - a heading is not worth failing the report for; locate() reports config errors
        return None


def _default_out() -> str:
    try:
        from . import config

        return getattr(config.load(), "report", None) or "report"
    except Exception:  # noqa: BLE001
        return "report"


def report(bags=None, catalog_path=None, *, out: str | os.PathLike | None = None) -> catalog.Result:
    """Write the finding aid to ``out`` (default: ``report/``), replacing an earlier report atomically."""
    from .progress import progress

    target = Path(out if out is not None else _default_out())
    if target.exists() and (not target.is_dir() or target.is_symlink() or (any(target.iterdir()) and not (target / MARKER).is_file())):
        raise UsageError(f"{target}: exists and is not an archiver report; choose another --out")
    conn, place, findings = catalog.open_current(bags, catalog_path)
    staging = target.parent / f".{target.name}.tmp-{os.getpid()}"
    try:
        all_rows = catalog.rows(conn)
        shutil.rmtree(staging, ignore_errors=True)
        (staging / "bags").mkdir(parents=True)
        generated = catalog.now()
        (staging / "index.html").write_text(index_page(all_rows, generated=generated, organization=_organization()), encoding="utf-8")
        for r in progress(all_rows, label="report"):
            extra = conn.execute("SELECT record_json, problem FROM bags WHERE name=?", (r["name"],)).fetchone()
            files = [dict(f) for f in conn.execute("SELECT path, algorithm, digest, size FROM files WHERE bag=? ORDER BY tag, path, algorithm", (r["name"],))]
            page = bag_page(r, extra["record_json"], files, catalog.history(conn, r["name"]), extra["problem"])
            (staging / "bags" / page_name(r["name"])).write_text(page, encoding="utf-8")
        (staging / MARKER).write_text("written by archiver report; this folder is replaced on the next run\n", encoding="utf-8")
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        conn.close()
    data = {"out": str(target), "index": str(target / "index.html"), "bags": len(all_rows), "catalog": str(place.catalog)}
    return catalog.Result(data, [f"report: {target / 'index.html'} ({len(all_rows)} documents, {len(all_rows)} detail pages)"], findings)
