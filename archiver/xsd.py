"""Validation against the official METS 1.12, MODS 3.8 and PREMIS 3.0 schemas, offline.

The schemas are not shipped (their folder is given with ``--schemas`` or
ARCHIVER_XSD_DIR, e.g. ../shared/xsd).  Their ``http://`` imports are mapped
to the local copies by reading the folder's OASIS ``catalog.xml`` into an lxml
Resolver; any other network URL is refused, and every parser runs with
no_network.  libxml2 reads XML_CATALOG_FILES only once per process, so it is
not relied on.  Compiled schemas are cached per process.

The whole METS is validated against ``umbrella.xsd`` (METS importing MODS,
PREMIS, DC), then each element inside ``mets:xmlData`` is validated again
against its own namespace's schema, because METS wraps it in a lax wildcard.
"""

from __future__ import annotations

import os
import threading

from lxml import etree

from . import xmlsafe
from .findings import Finding, one_line, rule

rule("XSD-E001", "METS 1.12.1 / MODS 3.8 / PREMIS 3.0 schemas", "mets.xml is not valid against the official schemas")
rule("XSD-W001", "METS 1.12.1 / MODS 3.8 / PREMIS 3.0 schemas", "the schema folder given cannot be used; schema validation did not run")
rule("XSD-I001", "METS 1.12.1 / MODS 3.8 / PREMIS 3.0 schemas", "no schema folder given (--schemas or ARCHIVER_XSD_DIR); schema validation did not run")

METS = "http://www.loc.gov/METS/"
# namespace -> schema file in the folder
SCHEMA_FILES = {
    METS: "umbrella.xsd",
    "http://www.loc.gov/mods/v3": "mods/mods-3-8.xsd",
    "http://www.loc.gov/premis/v3": "premis/premis-v3-0.xsd",
    "info:lc/xmlns/premis-v2": "premis/premis-v2-2.xsd",
    "http://purl.org/dc/elements/1.1/": "dc/dcterms.xsd",
    "http://purl.org/dc/terms/": "dc/dcterms.xsd",
}
_CATALOG_NS = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"
MAX_ERRORS = 50


class SchemaSetupError(Exception):
    """The schema folder is missing a file or a schema does not compile."""


class _Catalog(etree.Resolver):
    """Map the catalog's system/uri entries to local files; refuse every other network URL."""

    def __init__(self, folder: str):
        super().__init__()
        self.map: dict[str, str] = {}
        self.refused: list[str] = []
        path = os.path.join(folder, "catalog.xml")
        if os.path.isfile(path):
            with open(path, "rb") as f:
                root = xmlsafe.parse(f.read(1 << 20)).getroot()
            for el in root.iter(f"{_CATALOG_NS}system", f"{_CATALOG_NS}uri"):
                key = el.get("systemId") or el.get("name")
                target = el.get("uri")
                if key and target:
                    self.map.setdefault(key, os.path.normpath(os.path.join(folder, target.removeprefix("file://"))))

    def resolve(self, url, pubid, context):
        if url is None:
            return None
        local = self.map.get(url)
        if local is not None:
            return self.resolve_filename(local, context)
        if "://" in url and not url.lower().startswith("file:"):
            self.refused.append(url)
            raise OSError(f"network access refused: {url}")
        return None


class Schemas:
    """The compiled schemas of one folder."""

    def __init__(self, folder: str):
        self.folder = os.path.abspath(folder)
        if not os.path.isfile(os.path.join(self.folder, "umbrella.xsd")):
            raise SchemaSetupError(f"{folder}: no umbrella.xsd")
        self.resolver = _Catalog(self.folder)
        self._compiled: dict[str, etree.XMLSchema] = {}
        self._lock = threading.Lock()

    def _parser(self) -> etree.XMLParser:
        p = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)
        p.resolvers.add(self.resolver)
        return p

    def schema(self, namespace: str) -> etree.XMLSchema:
        rel = SCHEMA_FILES[namespace]
        with self._lock:
            if rel not in self._compiled:
                try:
                    doc = etree.parse(os.path.join(self.folder, rel), self._parser())
                    self._compiled[rel] = etree.XMLSchema(doc)
                except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as e:
                    why = f" (refused, not in catalog.xml: {', '.join(sorted(set(self.resolver.refused)))})" if self.resolver.refused else ""
                    raise SchemaSetupError(f"{rel} does not compile: {one_line(str(e), 200)}{one_line(why, 200)}") from None
            return self._compiled[rel]

    def errors(self, tree: etree._ElementTree) -> list[tuple[int, str]]:
        """(line, message) for every schema error, the embedded metadata checked by its own schema too."""
        seen: set[tuple[int, str]] = set()
        out: list[tuple[int, str]] = []

        def run(schema, target, label):
            if schema.validate(target):
                return
            for e in schema.error_log:
                if e.level < etree.ErrorLevels.ERROR or (e.line, e.message) in seen:
                    continue
                seen.add((e.line, e.message))
                out.append((e.line, f"{e.message} [{label}]"))

        root = tree.getroot()
        if etree.QName(root).namespace != METS:
            return [(root.sourceline or 0, f"root element {root.tag} is not mets:mets")]
        for xml_data in root.iter(f"{{{METS}}}xmlData"):
            for child in xml_data:
                if not isinstance(child.tag, str):
                    continue
                ns = etree.QName(child).namespace
                if ns in SCHEMA_FILES and ns != METS:
                    run(self.schema(ns), child, SCHEMA_FILES[ns])
        run(self.schema(METS), tree, "METS")
        out += idref_problems(root)
        return sorted(out)


# XML Schema requires every IDREF to name an ID (cvc-id.1); libxml2 does not check it, so we do.
# Attributes of type ID / IDREF(S) per namespace, as mets.xsd, mods-3-8.xsd and premis-v3-0.xsd declare them.
_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
_ID_ATTRS = {METS: ("ID",), "http://www.loc.gov/mods/v3": ("ID",), "http://www.loc.gov/premis/v3": ("xmlID",)}
_IDREF_ATTRS = {  # attribute -> True when it holds a list (IDREFS)
    METS: {"ADMID": True, "DMDID": True, "STRUCTID": True, "FILEID": False, "TRANSFORMBEHAVIOR": False},
    "http://www.loc.gov/mods/v3": {"IDREF": False},
    "http://www.loc.gov/premis/v3": {a: False for a in ("LinkAgentXmlID", "LinkEventXmlID", "LinkObjectXmlID",
                                                          "LinkPermissionStatementXmlID", "RelEventXmlID", "RelObjectXmlID")},
}


def idref_problems(root) -> list[tuple[int, str]]:
    ids: set[str] = set()
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for el in elements:
        for name in _ID_ATTRS.get(etree.QName(el).namespace, ()):
            if el.get(name) is not None:
                ids.add(el.get(name).strip())
        if el.get(_XML_ID) is not None:
            ids.add(el.get(_XML_ID).strip())
    out = []
    for el in elements:
        for name, is_list in _IDREF_ATTRS.get(etree.QName(el).namespace, {}).items():
            value = el.get(name)
            if value is None:
                continue
            for token in (value.split() if is_list else [value.strip()]):
                if token not in ids:
                    out.append((el.sourceline or 0, f"{etree.QName(el).localname}/@{name}: no element has the ID {token!r} [IDREF check]"))
    return out


_CACHE: dict[str, Schemas] = {}


def schemas_for(folder: str) -> Schemas:
    key = os.path.abspath(folder)
    if key not in _CACHE:
        _CACHE[key] = Schemas(key)
    return _CACHE[key]


def check(mets_bytes: bytes, folder: str | None, path: str = "data/metadata/mets.xml") -> list[Finding]:
    """Findings from the official schemas; says so when the check could not run."""
    if not folder:
        return [Finding.of("XSD-I001", path, "not checked against the official schemas (no --schemas folder)")]
    try:
        tree = xmlsafe.parse(mets_bytes)
    except ValueError:
        return []  # reported by the well-formedness check
    try:
        problems = schemas_for(folder).errors(tree)
    except SchemaSetupError as e:
        return [Finding.of("XSD-W001", path, f"schema validation did not run: {e}")]
    out = [Finding.of("XSD-E001", path, f"line {line}: {one_line(msg, 300)}") for line, msg in problems[:MAX_ERRORS]]
    if len(problems) > MAX_ERRORS:
        out.append(Finding.of("XSD-E001", path, f"{len(problems) - MAX_ERRORS} more schema errors not shown"))
    return out
