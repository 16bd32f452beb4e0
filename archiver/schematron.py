"""A fast evaluator for the subset of ISO Schematron (XPath 1.0) our rules use.

``schemas/mets-rules.sch`` stays the single source of truth; this module reads
it once per process and compiles every rule context and assert test to an
``lxml.etree.XPath``, then evaluates them over a tree that is already parsed.
lxml.isoschematron compiles the same file to XSLT and produces an SVRL report
per document; for our METS that cost ~4.2 ms per bag, this ~0.2 ms
(bench/hotspots.py validate --texts 200, jobs=1, quiet machine).

Semantics kept from the ISO skeleton (iso_schematron_skeleton_for_xslt1.xsl,
the one lxml ships):

- each pattern visits every node of the document; a node is handled by the
  FIRST rule of the pattern whose context matches it (rules are templates of
  decreasing priority);
- a context is an XSLT match pattern: ``a/b`` matches any ``b`` whose parent is
  an ``a``, anywhere, i.e. the nodes ``//a/b`` selects; ``/a`` only the root;
- ``sch:let`` in a rule is an XSLT variable evaluated on the context node, in
  order (a later let may use an earlier one); a ``sch:let`` of the schema is a
  global variable, evaluated once per document, in order (one that names a
  later one is refused: XSLT would allow it).  XSLT evaluates it on the
  document node, which lxml cannot pass, so only absolute location paths are
  accepted (they select the same nodes from the root element);
- an assert fails when ``boolean(test)`` is false; its message is the text of
  the assert with each ``sch:value-of`` replaced by ``string(select)`` (what
  ``xsl:value-of`` writes), and without its whitespace-only text nodes (which
  XSLT strips from the stylesheet); reports are ignored (check_rules only reads
  failed asserts).

Anything outside that subset (includes, abstract patterns or rules, phases,
pattern level lets, diagnostics, other inline elements in a message)
raises ``Unsupported`` when compiling, and a let whose value the XPath
variable binding cannot carry (e.g. attribute nodes) raises it while
evaluating: the caller then uses lxml.isoschematron instead, so the findings
are the same whichever path runs.  tests/test_schematron.py checks both paths
agree on our METS and on many damaged ones.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lxml import etree

SCH = "http://purl.oclc.org/dsdl/schematron"
_S = f"{{{SCH}}}"
_EXSLT_RE = "http://exslt.org/regular-expressions"


class Unsupported(Exception):
    """The schema (or a document) needs a Schematron feature this evaluator does not implement."""


_VARIABLE = re.compile(r"\$([^\W\d][\w.-]*)(:?)")  # an XPath variable reference (NCName, any letters)


class _Expr:
    """A compiled XPath called with only the variables it names: lxml converts every variable
    passed on every call, and the schema's node-set lets passed to all ~40 expressions of our
    rules cost more than they saved (measured: 0.56 -> 0.85 ms per bench document)."""

    __slots__ = ("xpath", "names")

    def __init__(self, xpath: etree.XPath, names: tuple[str, ...]):
        self.xpath, self.names = xpath, names

    def __call__(self, node, variables: dict):
        if not self.names:
            return self.xpath(node)
        return self.xpath(node, **{n: variables[n] for n in self.names if n in variables})


@dataclass(frozen=True)
class _Assert:
    id: str | None
    test: _Expr
    parts: tuple  # str (literal text) or _Expr (a value-of, returns a string)


@dataclass(frozen=True)
class _Rule:
    context: object  # tree -> every node the context pattern matches (an etree.XPath, or _iter_list)
    lets: tuple  # (name, _Expr)
    asserts: tuple  # _Assert


def _split_union(pattern: str) -> list[str]:
    """``a | b[c = '|']`` -> ["a", "b[c = '|']"]: split on top-level bars only."""
    out, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(pattern):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
    out.append(pattern[start:])
    return [p.strip() for p in out]


def _selector(pattern: str) -> str:
    """The XPath selecting every node an XSLT match pattern matches (no id()/key() patterns)."""
    branches = []
    for p in _split_union(pattern):
        if not p or p.startswith(("id(", "key(")) or "current()" in p:
            raise Unsupported(f"context pattern {pattern!r}")
        branches.append(p if p.startswith("/") else "//" + p)
    return " | ".join(branches)


_QNAME = re.compile(r"(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*")


def _iter_list(tree, tags) -> list:
    return list(tree.iter(*tags))


_STEP = r"(?:[A-Za-z-]+::)?(?:@?(?:[A-Za-z_][\w.-]*:)?(?:[A-Za-z_][\w.-]*|\*)|(?:node|text|comment)\(\)|\.\.?)"
_ABSOLUTE_PATH = re.compile(rf"(?://?{_STEP})+")


def _outside_predicates(expr: str) -> str:
    """``expr`` without its ``[...]`` predicates (and the quoted strings in them)."""
    out, depth, quote = [], 0, None
    for ch in expr:
        if quote:
            quote = None if ch == quote else quote
        elif depth and ch in "'\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out)


def _carried(name: str, value):
    """A let's value, if an XPath variable can carry it (not attribute or text nodes)."""
    if isinstance(value, list) and not all(isinstance(v, etree._Element) for v in value):
        raise Unsupported(f"let ${name} holds nodes an XPath variable cannot carry")
    return value


def _check_attrs(el, allowed: set[str]) -> None:
    extra = set(el.attrib) - allowed
    if extra:
        raise Unsupported(f"sch:{etree.QName(el).localname} with {sorted(extra)}")


class Rules:
    """A compiled Schematron schema: ``failed(tree)`` -> [(assert id, message)]."""

    def __init__(self, schema_root: etree._Element):
        if schema_root.tag != _S + "schema":
            raise Unsupported("not an ISO Schematron schema")
        if schema_root.get("queryBinding", "xslt") not in ("xslt", "xpath"):
            raise Unsupported(f"queryBinding {schema_root.get('queryBinding')!r}")
        _check_attrs(schema_root, {"queryBinding", "schemaVersion", "id"})
        ns: dict[str, str] = {}
        patterns, lets = [], []
        for el in schema_root:
            if not isinstance(el.tag, str):
                continue  # comments, processing instructions
            if el.tag == _S + "ns":
                ns[el.get("prefix")] = el.get("uri")
            elif el.tag == _S + "let":
                _check_attrs(el, {"name", "value"})
                lets.append((el.get("name"), el.get("value")))
            elif el.tag == _S + "pattern":
                patterns.append(el)
            elif el.tag not in (_S + "title", _S + "p"):
                raise Unsupported(f"schema child {el.tag}")
        self.ns = ns
        names = [name for name, _ in lets]
        for i, (name, value) in enumerate(lets):
            # Evaluated in order here; XSLT lets a global name a later one (a textual check: a false
            # alarm only costs the fallback).
            if any(re.search(rf"\${re.escape(later)}(?![\w.-])", value) for later in names[i:]):
                raise Unsupported(f"schema let ${name} names itself or a later let")
            # XSLT evaluates a global on the document node, which lxml cannot pass as a context: the
            # root element stands in, which gives the same nodes only for an absolute location path.
            if not _ABSOLUTE_PATH.fullmatch(_outside_predicates(value.strip())):
                raise Unsupported(f"schema let ${name} is not an absolute location path")
        self.lets = tuple((name, self._expr(value)) for name, value in lets)
        self.patterns = tuple(tuple(self._rule(r) for r in self._rules_of(p)) for p in patterns)

    @staticmethod
    def _rules_of(pattern):
        _check_attrs(pattern, {"id", "name"})
        rules = []
        for el in pattern:
            if not isinstance(el.tag, str):
                continue
            if el.tag == _S + "rule":
                rules.append(el)
            elif el.tag not in (_S + "title", _S + "p"):
                raise Unsupported(f"pattern child {el.tag}")
        return rules

    def _expr(self, expr: str) -> "_Expr":
        names = []
        for m in _VARIABLE.finditer(expr):
            if m[2]:
                raise Unsupported(f"a prefixed variable name in {expr!r}")
            names.append(m[1])
        return _Expr(self._xpath(expr), tuple(dict.fromkeys(names)))

    def _xpath(self, expr: str) -> etree.XPath:
        try:
            # lxml registers its EXSLT regular-expression functions on every call unless told not to;
            # they are reachable only through a prefix bound to their namespace.
            regexp = _EXSLT_RE in self.ns.values()
            return etree.XPath(expr, namespaces=self.ns, smart_strings=False, regexp=regexp)
        except etree.XPathSyntaxError as e:
            raise Unsupported(f"XPath {expr!r}: {e}") from None

    def _rule(self, el) -> _Rule:
        _check_attrs(el, {"context", "id", "role", "flag"})
        if el.get("context") is None:
            raise Unsupported("sch:rule without a context")
        lets, asserts = [], []
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag == _S + "let":
                _check_attrs(child, {"name", "value"})
                if asserts:
                    raise Unsupported("sch:let after an assert")
                lets.append((child.get("name"), self._expr(child.get("value"))))
            elif child.tag == _S + "assert":
                asserts.append(self._assert(child))
            elif child.tag != _S + "report":  # reports never give a failed-assert
                raise Unsupported(f"rule child {child.tag}")
        context = self._xpath(_selector(el.get("context")))  # compiled in any case: its syntax is checked
        names = _split_union(el.get("context"))
        if all(_QNAME.fullmatch(n) for n in names):
            # Only element names ("a | b | c"): lxml's iter() finds the same elements, in document order,
            # in one walk in C; the XPath union walks once per name (METS-E012's seven dates: 41 -> 6 us).
            tags = []
            for n in names:
                prefix, _, local = n.rpartition(":")
                if prefix and prefix not in self.ns:
                    raise Unsupported(f"undeclared prefix in {n!r}")
                tags.append(f"{{{self.ns[prefix]}}}{local}" if prefix else local)
            context = functools.partial(_iter_list, tags=tuple(tags))
        return _Rule(context, tuple(lets), tuple(asserts))

    def _assert(self, el) -> _Assert:
        _check_attrs(el, {"id", "test", "role", "flag", "see"})
        parts: list = [el.text or ""]
        for child in el:
            if child.tag == _S + "value-of":
                _check_attrs(child, {"select"})
                parts.append(self._expr(f"string({child.get('select')})"))
            elif isinstance(child.tag, str):
                raise Unsupported(f"sch:assert child {child.tag}")
            # a comment or processing instruction adds no text; its tail does
            parts.append(child.tail or "")
        # XSLT strips whitespace-only text nodes from a stylesheet: "<value-of/> <value-of/>" writes no space.
        return _Assert(el.get("id"), self._expr(f"boolean({el.get('test')})"),
                       tuple(p for p in parts if not isinstance(p, str) or p.strip()))

    def failed(self, tree) -> list[tuple[str | None, str]]:
        """(assert id, message with whitespace normalized) of every failed assert."""
        out = []
        element = etree._Element
        if isinstance(tree, element):
            tree = tree.getroottree()  # contexts match anywhere in the document, as XPath's "//" does
        document: dict = {}  # the schema's lets, on the document root
        for name, xp in self.lets:
            document[name] = _carried(name, xp(tree, document))
        for rules in self.patterns:
            claimed: set | None = set() if len(rules) > 1 else None  # nodes an earlier rule of this pattern handled
            for r in rules:
                for node in r.context(tree):
                    if not isinstance(node, element):
                        raise Unsupported("a rule context matched a non-element node")
                    if claimed is not None:
                        if node in claimed:
                            continue
                        claimed.add(node)
                    variables = dict(document)
                    for name, xp in r.lets:
                        variables[name] = _carried(name, xp(node, variables))
                    for a in r.asserts:
                        if not a.test(node, variables):
                            text = "".join(p if isinstance(p, str) else p(node, variables) for p in a.parts)
                            out.append((a.id, " ".join(text.split())))
        return out
