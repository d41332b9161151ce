"""The monthly report's two charts, drawn here as SVG text: daily intake (a
bar per day, stacked by source) and each party's on-time rate over the
month (a line per party). Plain SVG needs no plotting library and prints
sharp at any size; every label is escaped."""
from html import escape

WIDTH, HEIGHT = 680, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 150, 16, 36
COLOURS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096")


def _frame(title, y_labels, plot):
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" '
             'role="img" aria-label="%s" font-family="sans-serif" font-size="11">'
             % (WIDTH, HEIGHT, WIDTH, HEIGHT, escape(title)),
             '<title>%s</title>' % escape(title)]
    for fraction, label in y_labels:
        y = TOP + inner_h * (1 - fraction)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e2e8f0"/>'
                     % (LEFT, y, LEFT + inner_w, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (LEFT - 4, y + 4, escape(label)))
    parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#4a5568"/>'
                 % (LEFT, TOP + inner_h, LEFT + inner_w, TOP + inner_h))
    parts += plot(inner_w, inner_h)
    parts.append("</svg>")
    return "".join(parts)


def _x_labels(days, inner_w, inner_h):
    step = inner_w / max(len(days), 1)
    labels = []
    for index, day in enumerate(days):
        if index % 5 == 0 or index == len(days) - 1:
            labels.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                          % (LEFT + step * (index + 0.5), TOP + inner_h + 16, escape(day["date"][8:])))
    return labels


def _legend(names, inner_w):
    parts = []
    for index, (name, colour) in enumerate(names):
        y = TOP + 6 + index * 18
        parts.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>'
                     % (LEFT + inner_w + 12, y - 9, colour))
        parts.append('<text x="%d" y="%d">%s</text>' % (LEFT + inner_w + 28, y + 1, escape(name)))
    return parts


def daily_intake(days, sources, labels):
    """`days`: [{"date", "intake": {source: n}}]; `sources`: the order to stack."""
    peak = max([sum(day["intake"].get(name, 0) for name in sources) for day in days] + [1])
    top = max(peak, 4)

    def plot(inner_w, inner_h):
        step = inner_w / max(len(days), 1)
        parts = []
        for index, day in enumerate(days):
            base = TOP + inner_h
            for number, name in enumerate(sources):
                count = day["intake"].get(name, 0)
                if not count:
                    continue
                height = inner_h * count / top
                base -= height
                parts.append('<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s">'
                             '<title>%s %s: %d</title></rect>'
                             % (LEFT + step * index + step * 0.15, base, step * 0.7, height,
                                COLOURS[number % len(COLOURS)], escape(day["date"]),
                                escape(labels.get(name, name)), count))
        return parts + _x_labels(days, inner_w, inner_h) + _legend(
            [(labels.get(name, name), COLOURS[n % len(COLOURS)]) for n, name in enumerate(sources)],
            inner_w)
    y_labels = [(0, "0"), (0.5, "%g" % (top / 2)), (1, "%d" % top)]
    return _frame("每日登记与事件数", y_labels, plot)


def on_time_rates(days, parties, labels):
    """`days`: [{"date", "on_time": {party: rate or None}}]: a line per
    party, broken where the party finished nothing that day."""
    def plot(inner_w, inner_h):
        step = inner_w / max(len(days), 1)
        parts = []
        for number, party in enumerate(parties):
            colour = COLOURS[number % len(COLOURS)]
            runs, run = [], []
            for index, day in enumerate(days):
                rate = day["on_time"].get(party)
                if rate is None:
                    if run:
                        runs.append(run)
                    run = []
                    continue
                run.append((LEFT + step * (index + 0.5), TOP + inner_h * (1 - rate)))
            if run:
                runs.append(run)
            for points in runs:
                if len(points) > 1:
                    parts.append('<polyline class="line" fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                                 % (colour, " ".join("%.1f,%.1f" % point for point in points)))
                for x, y in points:
                    parts.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>' % (x, y, colour))
        return parts + _x_labels(days, inner_w, inner_h) + _legend(
            [(labels.get(party, party), COLOURS[n % len(COLOURS)]) for n, party in enumerate(parties)],
            inner_w)
    return _frame("各方按时办结率", [(0, "0%"), (0.5, "50%"), (1, "100%")], plot)
