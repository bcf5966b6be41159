"""ID document readers for real-name events: what they send, turned into ``id_type/id_number/name``.

Two kinds of output exist in the field, both configured in the device profile's ``[id_reader]``:
- ``format = "fields"``: a line of fields joined by a separator (e.g. the Chinese ID card
  readers that type ``name|number`` as keystrokes or send it over serial); ``fields`` names them
  in order, ``id_type`` fixes the document type when the reader does not send it.
- ``format = "mrz"``: ICAO 9303 MRZ text from passport readers, checked by its check digits.
The result is what :meth:`gate_agent.pipeline.ScanPipeline.present_identity` takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate_agent.inputs.mrz import MrzError, parse_mrz

FIELD_NAMES = ("name", "id_number", "id_type", "ignore")


class IdReadError(ValueError):
    """What the reader sent cannot be read as an identity document."""


@dataclass(frozen=True, slots=True)
class IdReaderSettings:
    format: str = "fields"
    separator: str = "|"
    fields: tuple[str, ...] = ("name", "id_number")
    id_type: str = "cn_ric"
    match_name: bool = True
    """Whether the name read is compared too (off for MRZ: Latin transliterations vary)."""


class IdParser:
    def __init__(self, settings: IdReaderSettings) -> None:
        if settings.format not in ("fields", "mrz"):
            raise ValueError(f"unknown ID reader format {settings.format!r} (known: fields, mrz)")
        for name in settings.fields:
            if name not in FIELD_NAMES:
                raise ValueError(f"unknown ID reader field {name!r} (known: {', '.join(FIELD_NAMES)})")
        self.settings = settings

    def __call__(self, text: str) -> dict[str, str]:
        return self.parse(text)

    def parse(self, text: str) -> dict[str, str]:
        s = self.settings
        if s.format == "mrz":
            try:
                mrz = parse_mrz(text)
            except MrzError as exc:
                raise IdReadError(str(exc)) from None
            result = {"id_type": "passport", "id_number": mrz.document_number}
            if s.match_name and mrz.name:
                result["name"] = mrz.name
            return result
        parts = [part.strip() for part in text.strip().split(s.separator)]
        if len(parts) != len(s.fields):
            raise IdReadError(
                f"expected {len(s.fields)} fields separated by {s.separator!r}, got {len(parts)}"
            )
        result = {"id_type": s.id_type}
        for name, value in zip(s.fields, parts, strict=True):
            if name != "ignore" and value:
                result[name] = value
        if "id_number" not in result:
            raise IdReadError("the reader sent no ID number")
        if not s.match_name:
            result.pop("name", None)
        return result
