"""Checking a claimed flat against the relocation-housing allocation records,
and reading a list of allocations from CSV."""
import csv
import io

from marshmallow import ValidationError

from shared.catalogue import flat_id
from shared.errors import flatten

CSV_COLUMNS = ("building", "unit", "room", "household", "handed_over")


def check_claim(allocation, name, handover=None):
    """matched | allocated_to_other | unknown_flat | not_handed_over. A
    recorded handover makes the flat handed over whatever the allocation's
    own flag says (the flag is set after the handover, in a second write)."""
    if allocation is None:
        return "unknown_flat"
    if handover is None and not allocation.get("handed_over", True):
        return "not_handed_over"
    household = {member.strip() for member in allocation["household"]}
    return "matched" if name.strip() in household else "allocated_to_other"


def handover_refusal(allocation, members, flat):
    """Why a flat may not be handed over to `members`, as (status, field,
    reason), or None: the flat must have an allocation, and the members
    must be exactly its household (names compared without surrounding
    spaces). A second handover is refused by the handover's unique id."""
    if allocation is None:
        return 422, "flat", ("no allocation for flat %s: a relocation flat is handed over "
                             "to the household it is allocated to" % flat)
    household = {member.strip() for member in allocation["household"]}
    given = {member.strip() for member in members}
    strangers, missing = sorted(given - household), sorted(household - given)
    if strangers or missing:
        parts = []
        if strangers:
            parts.append("not in the household allocated flat %s: %s" % (flat, ", ".join(strangers)))
        if missing:
            parts.append("missing from the handover: %s" % ", ".join(missing))
        return 409, "members", "; ".join(parts)
    return None


def _rows(reader, errors):
    """(line in the file, row): the line where the row starts, as a clerk
    sees it in an editor (blank lines and quoted line breaks counted). A
    line the CSV reader cannot read is reported and the reading stops."""
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append({"field": "row %d" % (reader.line_num or start), "reason": "not CSV: %s" % exc})
            return
        # DictReader skips blank lines: the row starts after them.
        yield reader.line_num - _line_breaks(row), row
        start = reader.line_num + 1


def _line_breaks(row):
    return sum(str(value).count("\n") for value in row.values() if value is not None)


def allocations_from_csv(text, schema):
    """(allocations, errors) from CSV text with a header row of CSV_COLUMNS
    (`household` names separated by `;`, `handed_over` true/false, default
    true). Every bad row is reported, field by field, as `row N.field` (N is
    the line in the file); the caller imports nothing if there is any."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames or []
    except csv.Error as exc:
        return [], [{"field": "header", "reason": "not CSV: %s" % exc}]
    missing = [name for name in CSV_COLUMNS[:4] if name not in fieldnames]
    if missing:
        return [], [{"field": "header", "reason": "missing column(s) %s; expected %s"
                     % (", ".join(missing), ",".join(CSV_COLUMNS))}]
    allocations, errors, seen = [], [], {}
    for line, row in _rows(reader, errors):
        if None in row:
            errors.append({"field": "row %d" % line, "reason": "more values than columns"})
            continue
        data = {name: (row.get(name) or "").strip() for name in CSV_COLUMNS[:3]}
        data["household"] = [name.strip() for name in (row.get("household") or "").split(";")
                             if name.strip()]
        handed_over = (row.get("handed_over") or "true").strip().lower()
        row_errors = []
        if handed_over not in ("true", "false"):
            row_errors.append({"field": "row %d.handed_over" % line, "reason": "must be true or false"})
        data["handed_over"] = handed_over == "true"
        try:
            allocation = schema.load(data)
        except ValidationError as exc:
            row_errors = [{"field": "row %d.%s" % (line, path), "reason": reason}
                          for path, reason in flatten(exc.messages)] + row_errors
        if row_errors:
            errors += row_errors
            continue
        flat = flat_id(allocation)
        if flat in seen:
            errors.append({"field": "row %d" % line,
                           "reason": "flat %s is already on row %d" % (flat, seen[flat])})
            continue
        seen[flat] = line
        allocations.append(allocation)
    if not allocations and not errors:
        errors.append({"field": "rows", "reason": "no allocation in the file"})
    return allocations, errors
