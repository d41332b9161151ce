"""The results as a table: a row per scenario, and for each party how many
accepted registrations it has exactly once / lost / duplicated."""
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY

PARTIES = [(COMMITTEE, "committee"), (POLICE, "police"), (FLOATING, "floating office"),
           (PROPERTY, "property"), (DEVELOPER, "developer")]


def _load(result):
    load = result["load"]
    return "%g/s × %gs: %d sent, %d accepted" % (load["rate"], load["duration"], load["offered"],
                                                  load["accepted"])


def _faults(result):
    return "; ".join("%s (%.1fs)" % (w["what"], (w["end"] or w["start"]) - w["start"])
                     for w in result["faults"])


def _party(row):
    cell = "%d/%d/%d" % (row["once"], row["lost"], row["duplicated"])
    return cell + (" +%d unexpected" % row["unexpected"] if row["unexpected"] else "")


def _overdue(result):
    overdue = result["overdue"]
    if not overdue.get("deadlines_passed"):
        return "-"
    return "%d passed: %d once, %d lost, %d dup" % (
        overdue["deadlines_passed"], overdue.get("notices_once", 0),
        overdue.get("notices_lost", 0), overdue.get("notices_duplicated", 0))


def rows(results):
    header = ["#", "fault (duration)", "load"] + [name for _, name in PARTIES] + \
        ["overdue notices", "drained", "verdict"]
    body = []
    for result in results:
        if "error" in result:
            body.append([str(result["scenario"]), result["title"], "-"] + ["-"] * len(PARTIES)
                        + ["-", "-", "ERROR: %s" % result["error"]])
            continue
        failed = [name for name, ok in result["checks"].items() if not ok]
        verdict = "PASS" if result["ok"] else "FAIL" + (": " + "; ".join(failed) if failed else "")
        body.append([str(result["scenario"]), _faults(result), _load(result)]
                    + [_party(result["ledger"][party]) for party, _ in PARTIES]
                    + [_overdue(result), "%ss" % result["seconds_to_drain_after_last_send"], verdict])
    return header, body


def markdown(results):
    header, body = rows(results)
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def text(results):
    """Each scenario as a short block: easier to read in a terminal than a wide table."""
    header, body = rows(results)
    out = ["per party: exactly once / lost / duplicated"]
    for cells in body:
        out.append("")
        for name, value in zip(header, cells):
            out.append("  %-16s %s" % (name, value))
    return "\n".join(out)
