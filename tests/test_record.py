"""The record model and the metadata rules (archiver/record.py)."""

import json

import pytest
from pydantic import ValidationError

from archiver import record as R

ORIGINAL = dict(filename="a.txt", size=10, encoding="utf-8", newlines="lf")
CUR = {"by": "curator", "source": "a.meta.json"}


def fact(value, origin=CUR):
    return {"value": value, "origin": origin}


def build(**facts):
    return R.build(id="a" * 64, original=ORIGINAL, facts={k.replace("__", "."): v for k, v in facts.items()})


def errors(**facts):
    with pytest.raises(ValidationError) as e:
        build(**facts)
    return R.findings_from_error(e.value, "a.meta.json")


def test_nothing_known_is_explicitly_unknown():
    r = build()
    flat = R.flatten(r)
    assert set(flat) == set(R.FIELD_PATHS)
    assert all(f.value == R.UNKNOWN and not f.known and f.origin == R.NOT_STATED for f in flat.values())


def test_record_json_round_trip_is_exact():
    r = build(title=fact("Hello “world”"), dates__published=fact("XXXX-07-09"), language=fact("en"))
    again = R.Record.model_validate_json(r.dumps())
    assert again == r
    assert again.dumps() == r.dumps()
    assert json.loads(r.dumps())["schema"] == R.SCHEMA_ID


@pytest.mark.parametrize(
    "field, value, code, words",
    [
        ("dates.published", "July 9", "REC-E001", "not an EDTF date"),
        ("language", "english", "REC-E001", "BCP 47"),
        ("translation.source_language", "xx-invalid-tag-!", "REC-E001", "BCP 47"),
        ("title", "", "REC-E001", "must not be empty"),
        ("title", "   ", "REC-E001", "must not be empty"),
        ("source.url", "ftp://example.org/x", "REC-E001", "http(s) URL"),
        ("source.url", "not a url", "REC-E001", "http(s) URL"),
        ("rights", "https://creativecommons.org/licenses/by/4.0/", "REC-E001", "rightsstatements.org"),
        ("genre", "blog", "REC-E001", "interview"),
        ("dates.captured", "2024-05-01", "REC-E001", "time zone"),
    ],
)
def test_field_rules_name_file_and_field(field, value, code, words):
    [f] = errors(**{field.replace(".", "__"): fact(value)})
    assert f.code == code and f.field == field and words in f.message
    assert f.line().startswith(f"{code} error a.meta.json: {field}: ")
    assert "\n" not in f.line()


def test_captured_not_before_published():
    [f] = errors(dates__published=fact("2025-07-09"), dates__captured=fact("2025-07-08T23:00:00Z"))
    assert (f.code, f.field) == ("REC-E002", "dates.captured")
    # uncertain year-less dates never trip the rule on their own
    build(dates__published=fact("XXXX-07-09"), dates__captured=fact("2020-01-01T00:00:00Z"))


def test_original_not_after_translation():
    [f] = errors(dates__published=fact("2024-01"), dates__original_published=fact("2024-02-01"))
    assert (f.code, f.field) == ("REC-E003", "dates.original_published")
    build(dates__published=fact("2024-01"), dates__original_published=fact("2024-01-15"))


def test_translation_language_rules():
    [f] = errors(translation__status=fact("translated"), translation__source_language=fact("en"), language=fact("en-GB"))
    assert f.code == "REC-E004"
    [f] = errors(translation__status=fact("original"), translation__source_language=fact("pl"), language=fact("en"))
    assert f.code == "REC-E005"
    r = build(translation__status=fact("translated"), translation__source_language=fact("unknown"))
    assert not r.translation.source_language.known


def test_origins_must_say_where_from():
    with pytest.raises(ValidationError):
        build(title=fact("x", {"by": "curator"}))
    with pytest.raises(ValidationError):
        build(title=fact("x", {"by": "inferred"}))
    with pytest.raises(ValidationError):
        build(title=fact("x", {"by": "inferred", "rule": "r", "confidence": 1.5}))


def test_roles_accept_terms_and_codes():
    r = R.build(id="b" * 64, original=ORIGINAL, facts={}, persons=[
        {"name": "A", "role": "interviewee", "origin": CUR}, {"name": "B", "role": "trl", "origin": CUR}])
    assert [p.role for p in r.persons] == ["ive", "trl"]
    with pytest.raises(ValidationError):
        R.build(id="b" * 64, original=ORIGINAL, facts={}, persons=[{"name": "A", "role": "editor", "origin": CUR}])


def test_unknown_field_path_is_refused():
    with pytest.raises(ValueError, match="unknown field path"):
        R.build(id="a" * 64, original=ORIGINAL, facts={"titel": fact("x")})


def test_generated_json_schema_is_current(root):
    on_disk = (root / "schemas" / "record.schema.json").read_text(encoding="utf-8")
    assert on_disk == R.json_schema_text(), "schemas/record.schema.json is stale: run python -m archiver.record"


def test_records_validate_against_the_published_json_schema(root):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((root / "schemas" / "record.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    r = build(title=fact("T"), dates__published=fact("2024-05"), translation__status=fact("translated"))
    jsonschema.validate(r.to_json(), schema)
    bad = r.to_json()
    bad["title"] = {"value": "T"}  # an origin is required
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


# --- canonical JSON: the fast writer must equal json.dumps byte for byte ----

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


def _reference(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_canonical_json_is_json_dumps(obj):
    assert R.canonical_json(obj) == _reference(obj)


@pytest.mark.parametrize("obj", [{1: "int key"}, {"a": {2.5: None, "b": 1}}, {"bytes": b"x"}, [{"set": {1}}], {"nan": float("nan")}, {}, []])
def test_canonical_json_falls_back_or_fails_like_json_dumps(obj):
    try:
        expected = _reference(obj)
    except TypeError as e:
        with pytest.raises(TypeError) as got:
            R.canonical_json(obj)
        assert str(got.value) == str(e)
    else:
        assert R.canonical_json(obj) == expected


def test_record_dumps_is_the_reference_encoding():
    r = build(title=fact("Hello “world”\ttab \\ \"q\""), dates__published=fact("XXXX-07-09"), language=fact("en"))
    assert r.dumps() == _reference(r.to_json()) + "\n"


from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.strategies import records  # noqa: E402


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_every_record_round_trips_through_its_canonical_json(r):
    # ourbag trusts a record.json equal to the canonical dump of the METS's record: that is
    # safe only if every valid record reads back from its dump as the same record.
    again = R.Record.model_validate(json.loads(r.dumps()))
    assert again.to_json() == r.to_json()
    assert again.dumps() == r.dumps()


# --- Record.dumps writes the model directly: it must equal the plain path on every record ----


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_record_dumps_is_json_dumps_of_its_model_dump(r):
    assert r.dumps() == _reference(r.to_json()) + "\n"


def test_record_dumps_of_origins_of_every_shape():
    # Each optional part of an Origin present and absent, lines of one and several, and the
    # not-stated unknown fact at each depth it occurs (top level, dates.*, source.outlet.*).
    origins = [
        R.Origin(by="inferred", rule="r"),
        R.Origin(by="inferred", rule="r", lines=(7,), confidence=0.0),
        R.Origin(by="inferred", rule="r \"q\" \\", lines=(1, 2, 30), confidence=1.0, source="s"),
        R.Origin(by="curator", source="x.meta.toml"),
        R.Origin(by="default", source="archiver.toml", rule="", confidence=0.35),
    ]
    for o in origins:
        r = build(title=R.Fact(value="T", origin=o), dates__published=R.Fact(value="2024", origin=o),
                  source__outlet__name=R.Fact(value="O", origin=o))
        assert r.dumps() == _reference(r.to_json()) + "\n"


@pytest.mark.parametrize("confidence", [float("inf"), float("nan")])
def test_record_dumps_falls_back_to_the_plain_path_for_what_it_does_not_write(confidence):
    # A model made without validation (never in archiver) holding a float json.dumps writes as
    # Infinity or NaN (float repr says inf, nan): the direct writer leaves it to the generic path.
    odd = R.Origin.model_construct(by="inferred", rule="r", lines=(), confidence=confidence, source=None)
    r = build(title=fact("T")).model_copy(update={"title": R.Fact[R.Text](value="T", origin=odd)})
    assert r.dumps() == _reference(r.to_json()) + "\n"


def test_the_origin_writer_knows_every_field_of_origin():
    # _origin_parts writes Origin's fields by name; a new field must not be silently left out.
    assert R._origin_fields_as_written()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_build_from_fact_models_is_build_from_their_dumps(r):
    # record.build takes each fact's Origin and each Person as the model it is; the plain path
    # dumps them and validates the dicts again.  Same record either way.
    facts = R.flatten(r)
    kw = dict(id=r.id, original=r.original, notes=r.notes, supersedes=r.supersedes, listing=r.listing)
    fast = R.build(facts=facts, persons=r.persons, **kw)
    plain = R.build(facts={p: f.model_dump() for p, f in facts.items()}, persons=[p.model_dump() for p in r.persons], **kw)
    assert fast == plain and fast.dumps() == plain.dumps() == r.dumps()
    assert R.flatten(fast) == {p: R.get_fact(fast, p) for p in R.FIELD_PATHS}


def test_a_bad_value_in_a_fact_model_is_still_refused():
    # The Origin is taken as it is, the value is not: it is validated by the field's type.
    bad = R.Fact[R.Any](value="  padded ", origin=R.Origin(by="curator", source="x.meta.toml"))
    with pytest.raises(ValidationError) as e:
        R.build(id="a" * 64, original=ORIGINAL, facts={"title": bad})
    assert [f.field for f in R.findings_from_error(e.value, "x")] == ["title"]


def test_facts_nothing_stated_share_one_frozen_value():
    a, b = build(), build(title=fact("T"))
    assert a.language is b.language is R._NOT_STATED_FACT and not a.language.known
    with pytest.raises(ValidationError):
        a.language.value = "en"  # frozen: sharing it cannot leak a change into another record
