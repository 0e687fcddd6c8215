"""The published JSON Schema: generated from the contract, checked in, and the examples
under docs/examples/ are valid against it and the decoder alike.

The `jsonschema` package is not a dependency, so examples are checked three ways: by the
contract's own decoder, by a small validator of the keywords the schema uses (this file,
`_errors`; a test checks that the schema uses no other assertion keyword), and by
comparing each definition's required fields and properties with the msgspec structs.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from streams.contract.events import EVENT_TYPES, TYPE_NAMES, InvalidEvent, decode_event
from streams.contract.schema import DRAFT, FILE, SCHEMA_ID, json_schema, schema_files, type_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / "docs" / "schema"
EXAMPLES = REPO / "docs" / "examples"

ASSERTIONS = {
    "$ref",
    "oneOf",
    "anyOf",
    "type",
    "const",
    "enum",
    "required",
    "properties",
    "minLength",
    "maxLength",
    "pattern",
}
"""What `_errors` checks; `format`, `default`, `title`, `description` only annotate."""
ANNOTATIONS = {"format", "default", "title", "description", "$defs", "$schema", "$id"}
TYPES = {
    "object": dict,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "array": list,
}


def _errors(schema: dict[str, Any], value: Any, root: dict[str, Any], at: str = "$") -> list[str]:
    """Why `value` fails `schema` (empty: it passes): draft 2020-12 for the keywords above."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        found = _errors(root["$defs"][name], value, root, at)
        if found:
            return found
    out: list[str] = []
    if "oneOf" in schema:
        passing = [s for s in schema["oneOf"] if not _errors(s, value, root, at)]
        if len(passing) != 1:
            out.append(f"{at}: matches {len(passing)} of oneOf, not exactly one")
    if "anyOf" in schema and all(_errors(s, value, root, at) for s in schema["anyOf"]):
        out.append(f"{at}: matches none of anyOf")
    if "type" in schema:
        kind = TYPES[schema["type"]]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            return [*out, f"{at}: not of type {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{at}: is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{at}: is not one of {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{at}: shorter than {schema['minLength']}")
        if len(value) > schema.get("maxLength", len(value)):
            out.append(f"{at}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{at}: does not match {schema['pattern']}")
    if isinstance(value, dict):
        out += [f"{at}.{k}: is missing" for k in schema.get("required", ()) if k not in value]
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                out += _errors(sub, value[k], root, f"{at}.{k}")
    return out


def _examples() -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".json"): json.loads(p.read_text("utf-8"))
        for p in sorted(EXAMPLES.glob("dossier.*.json"))
    }


def test_checked_in_schema_files_equal_the_generated_ones() -> None:
    """docs/schema/ holds exactly what the contract generates (regenerate with
    `python -m streams.contract.schema docs/schema`); nothing is written here."""
    expected = schema_files()
    on_disk = {p.name: p.read_text("utf-8") for p in SCHEMA_DIR.glob("*.json")}
    assert sorted(on_disk) == sorted(expected)
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert stale == [], f"stale: {stale}; run python -m streams.contract.schema docs/schema"


def test_the_schema_is_a_2020_12_document_with_one_definition_per_type() -> None:
    """`$schema`, `$id`, `oneOf` over the 13 types, each with its `type` as a const."""
    doc = json_schema()
    assert doc["$schema"] == DRAFT and doc["$id"] == SCHEMA_ID
    assert len(doc["oneOf"]) == len(EVENT_TYPES) == 13
    consts = set()
    for ref in doc["oneOf"]:
        definition = doc["$defs"][ref["$ref"].removeprefix("#/$defs/")]
        consts.add(definition["properties"]["type"]["const"])
        assert definition["properties"]["specversion"] == {
            "const": "1.0",
            "description": "CloudEvents version: always 1.0.",
        }
    assert consts == TYPE_NAMES
    assert "discriminator" not in doc and "anyOf" not in doc


def test_the_schema_uses_only_keywords_the_test_validator_checks() -> None:
    """Every keyword of the schema is one `_errors` asserts or a mere annotation, so the
    examples' validation here misses nothing the schema says."""
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            for k, v in node.items():
                seen.add(k)
                if k in ("properties", "$defs"):
                    for sub in v.values():
                        walk(sub)
                elif k != "default":
                    walk(v)

    walk(json_schema())
    assert seen <= ASSERTIONS | ANNOTATIONS, seen - ASSERTIONS - ANNOTATIONS


def test_required_fields_and_properties_follow_the_structs() -> None:
    """Each definition requires exactly the struct's required fields and lists its fields."""
    doc = json_schema()
    structs = {t.__name__: t for t in EVENT_TYPES}
    for kind in EVENT_TYPES:
        data = msgspec.structs.fields(kind)
        data_type = next(f.type for f in data if f.name == "data")
        structs[data_type.__name__] = data_type
    for name, struct in structs.items():
        fields = msgspec.structs.fields(struct)
        definition = doc["$defs"][name]
        expected = {f.encode_name for f in fields if f.required}
        if struct in EVENT_TYPES:
            expected.add("type")  # the tag: always required
        assert set(definition.get("required", ())) == expected, name
        names = {f.encode_name for f in fields} | ({"type"} if struct in EVENT_TYPES else set())
        assert set(definition["properties"]) == names, name


def test_every_type_has_one_full_example_valid_for_schema_and_decoder() -> None:
    """docs/examples/ has one example per type, each naming every field of its type and
    accepted by the schema, its own type's schema and the contract's decoder."""
    examples = _examples()
    assert set(examples) == TYPE_NAMES
    doc = json_schema()
    for name, example in examples.items():
        assert example["type"] == name
        assert _errors(doc, example, doc) == [], name
        alone = type_schema(name)
        assert _errors(alone, example, alone) == [], name
        event = decode_event(json.dumps(example))
        data_fields = {f.name for f in msgspec.structs.fields(type(event.data))}
        assert set(example["data"]) == data_fields, f"{name} lacks data fields"
        assert "datacontenttype" in example


def _broken(change: str) -> dict[str, Any]:
    example = copy.deepcopy(_examples()["dossier.received"])
    if change == "missing":
        del example["data"]["procedure"]
    elif change == "wrong_type":
        example["data"]["unit"] = 42
    elif change == "unknown_type":
        example["type"] = "dossier.archived"
    elif change == "no_offset":
        example["time"] = "2025-09-08T09:15:00"
    return example


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("missing", "missing_field"),
        ("wrong_type", "bad_field"),
        ("unknown_type", "unknown_type"),
        ("no_offset", "bad_field"),
    ],
)
def test_a_broken_example_fails_schema_and_decoder(change: str, reason: str) -> None:
    """A missing required field, a wrong type, an unknown `type` or a time without its
    offset is refused by the schema and by the decoder (with the reject reason a sender
    then sees)."""
    example = _broken(change)
    doc = json_schema()
    assert _errors(doc, example, doc) != []
    with pytest.raises(InvalidEvent) as err:
        decode_event(json.dumps(example))
    assert err.value.reason == reason


def test_the_whole_schema_file_is_the_lead_document() -> None:
    """The combined file is the one with the top-level `oneOf`; per-type files refer to
    their own definition."""
    files = schema_files()
    assert json.loads(files[FILE]) == json_schema()
    one = json.loads(files["dossier.received.schema.json"])
    assert one["$ref"] == "#/$defs/Received"
    assert set(one["$defs"]) == {"Received", "ReceivedData"}


def test_the_integration_guide_shows_every_example_and_every_reject_reason() -> None:
    """docs/integrating.md embeds each example file verbatim and explains every reason a
    sender's event can be refused with."""
    from streams.core.boundary import REASONS

    guide = (REPO / "docs" / "integrating.md").read_text("utf-8")
    for path in sorted(EXAMPLES.glob("dossier.*.json")):
        assert f"```json\n{path.read_text('utf-8')}```" in guide, path.name
    missing = [r for r in sorted(REASONS) if f"| `{r}` |" not in guide]
    assert missing == []


def test_a_standard_2020_12_validator_agrees_with_the_examples() -> None:
    """The `jsonschema` library's Draft 2020-12 validator (with format checks) accepts every
    example and refuses each broken one: the schema works in senders' own tools."""
    import jsonschema

    doc = json.loads((SCHEMA_DIR / "dossier-event.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(doc)
    validator = jsonschema.Draft202012Validator(
        doc, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for name, example in _examples().items():
        assert not list(validator.iter_errors(example)), name
    for change in ("missing", "wrong_type", "unknown_type", "no_offset"):
        assert list(validator.iter_errors(_broken(change))), change
