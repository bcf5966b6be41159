"""Venue seat maps: parse a JSON or CSV layout into plain records, and write them back.

JSON layout (what organisers upload and what ``GET /api/venues/{id}/layout`` returns)::

    {"name": "Hall", "stage": {"x": 0, "y": 0},
     "sections": [{"code": "A", "rows": [{"code": "1", "rank": 0,
                   "seats": [{"number": "1", "x": 1.0, "y": 2.0, "accessible": false,
                              "companion": false, "box": null, "position": 0}]}]}],
     "ga_areas": [{"code": "FLOOR", "name": "Standing floor", "capacity": 2000}]}

``rank`` orders rows by distance to the stage (0 = nearest); when absent it is computed from
the stage point if there is one, else from the row's order in its section. ``position`` is
the seat's place along the row: seats are adjacent when their positions are consecutive, so
an aisle is a gap in positions. ``box`` names a box whose seats sell all together.

CSV layout: one line per seat with the header
``section,row,number,x,y,accessible,companion,box,position,rank,capacity,name``; a line with
an empty row and number and a ``capacity`` defines a general-admission area (code = section).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_SEATS = 200_000
MAX_GA_CAPACITY = 1_000_000
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/+()-]{0,39}")
CSV_FIELDS = [
    "section",
    "row",
    "number",
    "x",
    "y",
    "accessible",
    "companion",
    "box",
    "position",
    "rank",
    "capacity",
    "name",
]


class LayoutError(ValueError):
    """A layout that cannot be imported, with where and why."""


@dataclass(frozen=True, slots=True)
class SeatSpec:
    section: str
    row: str
    number: str
    position: int
    rank: int
    x: float
    y: float
    accessible: bool = False
    companion: bool = False
    box: str | None = None

    @property
    def label(self) -> str:
        return seat_label(self.section, self.row, self.number)


@dataclass(frozen=True, slots=True)
class GaSpec:
    code: str
    name: str
    capacity: int


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    seats: tuple[SeatSpec, ...]
    ga_areas: tuple[GaSpec, ...]
    stage: tuple[float, float] | None = None


def seat_label(section: str, row: str, number: str) -> str:
    """The seat's name on tickets and in the API: ``SECTION-ROW-NUMBER``."""
    return f"{section}-{row}-{number}"


def _code(value: object, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise LayoutError(f"{what}: must be 1-40 letters, digits, spaces or ._/+()- (got {value!r})")
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LayoutError(f"{what}: must be a number")
    if abs(value) > 1e7:
        raise LayoutError(f"{what}: out of range")
    return float(value)


def _int(value: object, what: str, *, low: int = 0, high: int = 1_000_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise LayoutError(f"{what}: must be an integer from {low} to {high}")
    return value


def _flag(value: object, what: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise LayoutError(f"{what}: must be true or false")
    return value


def _stage(data: Mapping[str, Any]) -> tuple[float, float] | None:
    stage = data.get("stage")
    if stage is None:
        return None
    if not isinstance(stage, Mapping):
        raise LayoutError("stage: must be an object with x and y")
    return _number(stage.get("x"), "stage.x"), _number(stage.get("y"), "stage.y")


def parse_json_layout(data: object) -> Layout:
    """A validated :class:`Layout` from the JSON object; raises :class:`LayoutError`."""
    if not isinstance(data, Mapping):
        raise LayoutError("the layout must be a JSON object")
    name = data.get("name", "Venue")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise LayoutError("name: must be non-empty text of at most 200 characters")
    stage = _stage(data)
    sections = data.get("sections", [])
    if not isinstance(sections, list):
        raise LayoutError("sections: must be a list")
    seats: list[SeatSpec] = []
    pending_rank: list[tuple[int, list[SeatSpec]]] = []
    for s_index, section in enumerate(sections):
        if not isinstance(section, Mapping):
            raise LayoutError(f"sections[{s_index}]: must be an object")
        s_code = _code(section.get("code"), f"sections[{s_index}].code")
        rows = section.get("rows", [])
        if not isinstance(rows, list):
            raise LayoutError(f"section {s_code}: rows must be a list")
        for r_index, row in enumerate(rows):
            where = f"section {s_code} rows[{r_index}]"
            if not isinstance(row, Mapping):
                raise LayoutError(f"{where}: must be an object")
            r_code = _code(row.get("code"), f"{where}.code")
            row_seats = row.get("seats", [])
            if not isinstance(row_seats, list):
                raise LayoutError(f"row {s_code}-{r_code}: seats must be a list")
            if len(seats) + len(row_seats) > MAX_SEATS:
                raise LayoutError(f"more than {MAX_SEATS} seats")
            rank = row.get("rank")
            explicit_rank = None if rank is None else _int(rank, f"row {s_code}-{r_code}.rank")
            built: list[SeatSpec] = []
            for p_index, seat in enumerate(row_seats):
                at = f"row {s_code}-{r_code} seats[{p_index}]"
                if not isinstance(seat, Mapping):
                    raise LayoutError(f"{at}: must be an object")
                box = seat.get("box")
                built.append(
                    SeatSpec(
                        section=s_code,
                        row=r_code,
                        number=_code(seat.get("number"), f"{at}.number"),
                        position=_int(seat.get("position", p_index), f"{at}.position"),
                        rank=explicit_rank if explicit_rank is not None else r_index,
                        x=_number(seat.get("x", float(p_index)), f"{at}.x"),
                        y=_number(seat.get("y", float(r_index)), f"{at}.y"),
                        accessible=_flag(seat.get("accessible"), f"{at}.accessible"),
                        companion=_flag(seat.get("companion"), f"{at}.companion"),
                        box=None if box is None else _code(box, f"{at}.box"),
                    )
                )
            if explicit_rank is None and stage is not None and built:
                pending_rank.append((len(seats), built))
            seats.extend(built)
    if stage is not None:
        seats = _rank_by_stage(seats, pending_rank, stage)
    ga = _parse_ga(data.get("ga_areas", []))
    return _checked(Layout(name=name.strip(), seats=tuple(seats), ga_areas=ga, stage=stage))


def _rank_by_stage(
    seats: list[SeatSpec], pending: list[tuple[int, list[SeatSpec]]], stage: tuple[float, float]
) -> list[SeatSpec]:
    """Give rows without an explicit rank one from their mean distance to the stage (1 unit steps)."""
    out = list(seats)
    for start, row in pending:
        mean = sum(math.dist((s.x, s.y), stage) for s in row) / len(row)
        rank = min(int(mean), 1_000_000)
        for offset, seat in enumerate(row):
            out[start + offset] = SeatSpec(
                seat.section, seat.row, seat.number, seat.position, rank, seat.x, seat.y,
                seat.accessible, seat.companion, seat.box,
            )  # fmt: skip
    return out


def _parse_ga(items: object) -> tuple[GaSpec, ...]:
    if not isinstance(items, list):
        raise LayoutError("ga_areas: must be a list")
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise LayoutError(f"ga_areas[{index}]: must be an object")
        code = _code(item.get("code"), f"ga_areas[{index}].code")
        name = item.get("name", code)
        if not isinstance(name, str) or not name or len(name) > 200:
            raise LayoutError(f"ga area {code}: name must be non-empty text")
        out.append(
            GaSpec(code, name, _int(item.get("capacity"), f"ga area {code}.capacity", high=MAX_GA_CAPACITY))
        )
    return tuple(out)


def _checked(layout: Layout) -> Layout:
    labels: set[str] = set()
    places: set[tuple[str, str, int]] = set()
    for seat in layout.seats:
        if seat.label in labels:
            raise LayoutError(f"seat {seat.label} appears twice")
        labels.add(seat.label)
        place = (seat.section, seat.row, seat.position)
        if place in places:
            raise LayoutError(f"two seats at position {seat.position} of row {seat.section}-{seat.row}")
        places.add(place)
    codes = [area.code for area in layout.ga_areas]
    if len(set(codes)) != len(codes):
        raise LayoutError("two general-admission areas have the same code")
    if not layout.seats and not layout.ga_areas:
        raise LayoutError("the layout has neither seats nor general-admission areas")
    return layout


def layout_to_json(layout: Layout) -> dict[str, Any]:
    """The JSON layout; ``parse_json_layout(layout_to_json(x)) == x``."""
    sections: dict[str, dict[str, list[SeatSpec]]] = {}
    for seat in layout.seats:
        sections.setdefault(seat.section, {}).setdefault(seat.row, []).append(seat)
    out: dict[str, Any] = {"name": layout.name}
    if layout.stage is not None:
        out["stage"] = {"x": layout.stage[0], "y": layout.stage[1]}
    out["sections"] = [
        {
            "code": s_code,
            "rows": [
                {
                    "code": r_code,
                    "rank": row[0].rank,
                    "seats": [
                        {
                            "number": seat.number,
                            "position": seat.position,
                            "x": seat.x,
                            "y": seat.y,
                            "accessible": seat.accessible,
                            "companion": seat.companion,
                            "box": seat.box,
                        }
                        for seat in row
                    ],
                }
                for r_code, row in rows.items()
            ],
        }
        for s_code, rows in sections.items()
    ]
    out["ga_areas"] = [{"code": a.code, "name": a.name, "capacity": a.capacity} for a in layout.ga_areas]
    return out


def _csv_bool(text: str, what: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("", "0", "false", "no", "n"):
        return False
    if lowered in ("1", "true", "yes", "y"):
        return True
    raise LayoutError(f"{what}: {text!r} is not yes/no")


def _csv_number(text: str, what: str, default: float) -> float:
    if not text.strip():
        return default
    try:
        return _number(float(text), what)
    except ValueError:
        raise LayoutError(f"{what}: {text!r} is not a number") from None


def _csv_int(text: str, what: str, default: int | None) -> int | None:
    if not text.strip():
        return default
    try:
        return _int(int(text), what)
    except ValueError:
        raise LayoutError(f"{what}: {text!r} is not an integer") from None


def parse_csv_layout(text: str, name: str = "Venue") -> Layout:
    """A :class:`Layout` from CSV text (see the module docstring); raises :class:`LayoutError`."""
    try:
        return _parse_csv(text, name)
    except csv.Error as exc:
        raise LayoutError(f"not valid CSV: {exc}") from None


def _parse_csv(text: str, name: str) -> Layout:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"section", "row", "number"} <= set(reader.fieldnames):
        raise LayoutError("the CSV needs a header with at least section,row,number")
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    ga: list[dict[str, Any]] = []
    for line_no, line in enumerate(reader, start=2):
        if line_no > MAX_SEATS + 2:
            raise LayoutError(f"more than {MAX_SEATS} lines")
        cells = {key: (value or "") for key, value in line.items() if key is not None}
        at = f"line {line_no}"
        if not cells.get("row") and not cells.get("number"):
            capacity = _csv_int(cells.get("capacity", ""), f"{at} capacity", None)
            if capacity is None:
                raise LayoutError(f"{at}: a line without row and number must give a GA capacity")
            ga.append(
                {
                    "code": cells.get("section"),
                    "name": cells.get("name") or cells.get("section"),
                    "capacity": capacity,
                }
            )
            continue
        seat: dict[str, Any] = {
            "number": cells.get("number"),
            "accessible": _csv_bool(cells.get("accessible", ""), f"{at} accessible"),
            "companion": _csv_bool(cells.get("companion", ""), f"{at} companion"),
            "box": cells.get("box") or None,
            "_rank": _csv_int(cells.get("rank", ""), f"{at} rank", None),
        }
        key = (str(cells.get("section")), str(cells.get("row")))
        row = rows.setdefault(key, [])
        seat["position"] = _csv_int(cells.get("position", ""), f"{at} position", len(row))
        seat["x"] = _csv_number(cells.get("x", ""), f"{at} x", float(len(row)))
        seat["y"] = _csv_number(cells.get("y", ""), f"{at} y", 0.0)
        row.append(seat)
    sections: dict[str, list[dict[str, Any]]] = {}
    for (section, row_code), seats in rows.items():
        rank = next((s["_rank"] for s in seats if s["_rank"] is not None), None)
        for seat in seats:
            del seat["_rank"]
        entry: dict[str, Any] = {"code": row_code, "seats": seats}
        if rank is not None:
            entry["rank"] = rank
        sections.setdefault(section, []).append(entry)
    data = {
        "name": name,
        "sections": [{"code": code, "rows": section_rows} for code, section_rows in sections.items()],
        "ga_areas": ga,
    }
    return parse_json_layout(data)


def layout_to_csv(layout: Layout) -> str:
    """The CSV layout; ``parse_csv_layout(layout_to_csv(x))`` gives the same seats and areas."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for seat in layout.seats:
        writer.writerow(
            {
                "section": seat.section,
                "row": seat.row,
                "number": seat.number,
                "x": repr(seat.x),
                "y": repr(seat.y),
                "accessible": "yes" if seat.accessible else "no",
                "companion": "yes" if seat.companion else "no",
                "box": seat.box or "",
                "position": seat.position,
                "rank": seat.rank,
                "capacity": "",
                "name": "",
            }
        )
    for area in layout.ga_areas:
        writer.writerow({"section": area.code, "capacity": area.capacity, "name": area.name})
    return out.getvalue()


def grid_layout(
    name: str,
    sections: Iterable[str],
    rows: int,
    seats_per_row: int,
    ga: Iterable[tuple[str, int]] = (),
) -> Layout:
    """A rectangular layout (for demos, tests and the benchmark); row 1 is nearest the stage."""
    seats = []
    for s_index, section in enumerate(sections):
        for r in range(rows):
            for p in range(seats_per_row):
                seats.append(
                    SeatSpec(
                        section=section,
                        row=str(r + 1),
                        number=str(p + 1),
                        position=p,
                        rank=r,
                        x=float(s_index * (seats_per_row + 2) + p),
                        y=float(r),
                        accessible=(r == rows - 1 and p < 2),
                    )
                )
    areas = tuple(GaSpec(code, code, capacity) for code, capacity in ga)
    return _checked(Layout(name=name, seats=tuple(seats), ga_areas=areas))
