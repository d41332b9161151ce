"""The data-growth benchmark's verdict, terminal table and plot."""
from bench.growth_endpoints import CONTROLS
from bench.report import _format, _matplotlib, ms

GOAL_RATIO = 1.5


def verdict(sizes, kind="endpoints"):
    """Per endpoint (or pass): p99 at the largest size over p99 at the smallest."""
    measured = [size for size in sizes if size.get(kind)]
    if len(measured) < 2:
        return {}
    first, last = measured[0], measured[-1]
    result = {}
    for name in last[kind]:
        low, high = first[kind].get(name, {}).get("p99"), last[kind][name].get("p99")
        ratio = high / low if low and high else None
        result[name] = {"p99_smallest": low, "p99_largest": high, "ratio": ratio,
                        "met": ratio is not None and ratio <= GOAL_RATIO}
        if name in CONTROLS:
            result[name]["control"] = True
    return result


def _short(count):
    return "%gk" % (count / 1000) if count >= 1000 else str(count)


def table(sizes, kind="endpoints"):
    measured = [size for size in sizes if size.get(kind)]
    head = ("%s \\ closed linkages (documents)" % kind,) + tuple(
        "%s (%s docs) p50/p99/max ms" % (_short(s["closed_linkages"]), _short(s["documents"]))
        for s in measured) + ("p99 largest/smallest", "goal <= %.1fx" % GOAL_RATIO)
    judged = verdict(sizes, kind)
    rows = []
    for name in (measured[-1][kind] if measured else {}):
        cells = []
        for size in measured:
            row = size[kind].get(name) or {}
            errors = sum((row.get("errors") or {}).values())
            cell = "/".join(ms(row.get(q)) for q in ("p50", "p99", "max"))
            cells.append(cell + (" (%d err)" % errors if errors else "") + (" ERROR" if row.get("error") else ""))
        ratio = judged.get(name, {}).get("ratio")
        rows.append((name + (" (control)" if name in CONTROLS else ""),) + tuple(cells) + (
            "-" if ratio is None else "%.2f" % ratio,
            "-" if ratio is None or name in CONTROLS else ("met" if ratio <= GOAL_RATIO else "NOT met")))
    return _format(head, rows)


def plot(path, sizes, install=True):
    """p99 against stored documents (log x), one line per endpoint; the
    periodic passes beside it (those that ever take 5 ms or more; the table
    has them all)."""
    matplotlib = _matplotlib(install)
    if matplotlib is None:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(16, 5.5))
    styles = ["o-", "s--", "^-.", "D:"]
    for axis, kind, title in ((left, "endpoints", "API endpoints"), (right, "passes", "periodic passes")):
        measured = [size for size in sizes if size.get(kind)]
        x = [size["documents"] for size in measured]
        names = list(measured[-1][kind]) if measured else []
        drawn = 0
        for name in names:
            y = [(size[kind].get(name) or {}).get("p99") for size in measured]
            if kind == "passes" and max((v or 0) for v in y) < 0.005:
                continue
            axis.plot(x, [v * 1000 if v is not None else None for v in y],
                      styles[drawn // 10 % len(styles)], label=name)
            drawn += 1
        for size in measured:
            axis.axvline(size["documents"], color="grey", alpha=0.15)
            axis.annotate("%s linkages" % _short(size["closed_linkages"]), (size["documents"], 1),
                          xycoords=("data", "axes fraction"), fontsize=7, color="grey",
                          ha="center", va="bottom")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("documents stored in the five databases (log)")
        axis.set_ylabel("p99, ms (log)")
        axis.set_title(title, fontsize=10, pad=14)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    database = sizes[0].get("backend", "") if sizes else ""
    fig.suptitle("Returnee flow: p99 against stored documents (%s)" % database)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
