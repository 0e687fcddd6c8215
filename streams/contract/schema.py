"""The event contract as JSON Schema (draft 2020-12), generated from the contract's types.

msgspec derives the schema of the tagged union `DossierEvent`; this module turns it into a
document a sender's tooling reads without knowing msgspec: `$schema` and `$id`, one
definition per event type (and one per data payload), the `type` discriminator as a
`const`, `oneOf` at the top, and the few rules msgspec states in code rather than in its
schema written out (a date-time must carry its offset).  The files under docs/schema/ are
this module's output (`python -m streams.contract.schema docs/schema`); a test keeps them
equal to it, so the published schema cannot drift from the decoder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from streams.contract.events import EVENT_TYPES, DossierEvent

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:dossierwatch:schema:v1:dossier-event"
"""The document's identity (a URN: it names the contract's version, not where it is served)."""
FILE = "dossier-event.schema.json"
"""The whole contract; each type also has its own file, `dossier.<type>.schema.json`."""

DATE_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)
"""What the decoder accepts as an aware RFC 3339 date-time: `format` alone is only an
annotation in 2020-12, and a time without its offset is refused."""

DESCRIPTIONS: dict[str, str] = {
    "dossier.submitted": "A citizen submitted a dossier (online, by post or at the desk);"
    " not yet accepted, the time limit does not run.",
    "dossier.received": "The dossier was accepted (receipt issued): the time limit starts.",
    "dossier.assigned": "The dossier was given to a unit, or to an officer within a unit.",
    "dossier.transferred": "The dossier moved from one unit to another.",
    "dossier.returned": "The dossier was sent back to a unit it came from.",
    "dossier.consultation_requested": "Another unit was asked for its opinion, with a reply"
    " deadline.",
    "dossier.consultation_answered": "A consulted unit replied.",
    "dossier.supplement_requested": "The citizen was asked for more documents: the time"
    " limit stops.",
    "dossier.supplement_received": "The citizen supplied the documents: the time limit runs"
    " afresh.",
    "dossier.rescheduled": "A new appointment date was given (with an apology letter).",
    "dossier.completed": "The dossier was decided (approved or refused).",
    "dossier.delivered": "The result was handed to the citizen.",
    "dossier.withdrawn": "The citizen withdrew the dossier.",
}

ENVELOPE_DESCRIPTIONS: dict[str, str] = {
    "specversion": "CloudEvents version: always 1.0.",
    "id": "The event's id, unique per source for the life of the dossier.",
    "source": "The sending system (a URI-reference or a short name).",
    "time": "When it happened, RFC 3339 with its offset (+07:00 for Viet Nam).",
    "subject": "The dossier id; also the Kafka message key.",
    "datacontenttype": "Optional; application/json when given.",
    "type": "The event type: one of the 13 dossier.* names.",
}


def _tag(kind: type[Any]) -> str:
    tag: str = kind.__struct_config__.tag
    return tag


def _components() -> tuple[dict[str, Any], dict[str, Any]]:
    (top,), defs = msgspec.json.schema_components([DossierEvent], ref_template="#/$defs/{name}")
    return top, defs


def _fix(node: Any) -> Any:
    """Date-times get their pattern; `enum` of one value (the discriminator, the spec
    version) becomes `const`."""
    if isinstance(node, list):
        return [_fix(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _fix(v) for k, v in node.items()}
    if out.get("format") == "date-time" and out.get("type") == "string":
        out["pattern"] = DATE_TIME
    enum = out.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and "default" not in out:
        del out["enum"]
        out["const"] = enum[0]
    return out


def _definitions() -> dict[str, Any]:
    _, defs = _components()
    defs = _fix(defs)
    for kind in EVENT_TYPES:
        d = defs[kind.__name__]
        d["description"] = DESCRIPTIONS[_tag(kind)]
        for name, text in ENVELOPE_DESCRIPTIONS.items():
            d["properties"][name].setdefault("description", text)
    return dict(sorted(defs.items()))


def json_schema() -> dict[str, Any]:
    """The whole contract: any one of the 13 event types, chosen by `type`."""
    defs = _definitions()
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "DossierWatch dossier event",
        "description": "A CloudEvents 1.0 event (structured JSON) about one dossier, keyed by"
        " its id (`subject`).  `type` says which of the 13 kinds it is and what `data` holds;"
        " unknown fields are ignored.",
        "oneOf": [{"$ref": f"#/$defs/{kind.__name__}"} for kind in EVENT_TYPES],
        "$defs": defs,
    }


def type_schema(type_name: str) -> dict[str, Any]:
    """One event type alone (its envelope and its data payload), a document of its own."""
    kinds = {_tag(k): k for k in EVENT_TYPES}
    kind = kinds[type_name]
    defs = _definitions()
    envelope = defs[kind.__name__]
    wanted = {kind.__name__}
    ref = envelope["properties"]["data"].get("$ref", "")
    if ref:
        wanted.add(ref.rsplit("/", 1)[1])
    return {
        "$schema": DRAFT,
        "$id": f"{SCHEMA_ID.rsplit(':', 1)[0]}:{type_name}",
        "title": f"DossierWatch {type_name}",
        "$ref": f"#/$defs/{kind.__name__}",
        "$defs": {k: v for k, v in defs.items() if k in wanted},
    }


def schema_files() -> dict[str, str]:
    """File name → text of every published schema file (what docs/schema/ holds)."""
    files = {FILE: _text(json_schema())}
    for kind in EVENT_TYPES:
        files[f"{_tag(kind)}.schema.json"] = _text(type_schema(_tag(kind)))
    return files


def _text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema files into the folder given (docs/schema)."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m streams.contract.schema FOLDER\n")
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in schema_files().items():
        (folder / name).write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
