"""The briefing and the monthly report as pages to print on A4 and hand
round at the meeting: Chinese, one self-contained HTML page each (styles
inline, charts as inline SVG), built from the same dump the JSON answers
with. Every value is escaped."""
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

from shared.parties import ALL

from services.neighborhood_committee import charts
from services.neighborhood_committee.sources import SOURCES

PARTY = {"neighborhood_committee": "居委会", "community_police": "社区民警",
         "floating_population_office": "流动人口管理办公室", "property_company": "物业公司",
         "developer": "开发商"}
SOURCE = {"registrations": "返乡/来访登记", "cases": "社区事件", "tenancies": "租赁登记"}
KIND = {"overdue": "超时", "urgent": "紧急", "returned_twice": "两次退回", "reopened": "重新办理",
        "mismatch": "房屋分配不符", "past_twice_limit": "超期一倍以上"}
CATEGORY = {"local": "本地户籍", "non_local": "非本地户籍",
            "fire_lane_blocked": "消防通道堵塞", "ebike_indoors": "电动车进楼充电", "elevator_fault": "电梯故障",
            "facility_damage": "公共设施损坏", "garbage_overflow": "垃圾满溢", "water_leak": "漏水",
            "illegal_parking": "违章停车", "security_risk": "治安隐患", "neighbour_dispute": "邻里纠纷",
            "noise": "噪音扰民", "unregistered_tenant": "租客未登记", "group_rental": "群租",
            "resettlement_housing": "安置房问题", "other": "其他诉求"}
STATUS = {"awaiting": "待接收", "pending": "待核查", "held": "暂缓", "filed": "待派单", "dispatched": "待接单",
          "accepted": "已接单", "in_progress": "办理中", "resolved": "已办结待核查",
          "allocated_to_other": "分给他人", "unknown_flat": "无此房", "not_handed_over": "未交房"}
TOPIC = {"mismatch": "核实房屋分配，确认该户归属", "returned_by_all": "各方均已退回，确定主办单位",
         "returned_twice": "两次退回，确认主办单位", "past_twice_limit": "超期一倍以上，明确办结时间",
         "reopened": "回访不满意重新办理，落实整改", "long_overdue": "超时一天以上，说明原因"}
RATES = (("response_rate", "响应率"), ("on_time_rate", "按时办结率"),
         ("resolution_rate", "办结率"), ("satisfaction_rate", "满意率"))

STYLE = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       font-size: 10.5pt; color: #1a202c; max-width: 186mm; margin: 0 auto; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12pt; margin: 5mm 0 2mm;
     border-bottom: 1px solid #a0aec0; page-break-after: avoid; }
p.meta { color: #4a5568; margin: 0 0 3mm; }
table { border-collapse: collapse; width: 100%; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #cbd5e0; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #edf2f7; } td.n { text-align: right; }
.none { color: #718096; } .late { color: #c53030; font-weight: bold; }
figure { margin: 2mm 0; page-break-inside: avoid; } svg { max-width: 100%; height: auto; }
"""


def html_response(text):
    return Response(text, status=200, content_type="text/html; charset=utf-8")


def _page(title, body):
    return ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>%s</title>'
            '<style>%s</style></head><body>%s</body></html>' % (escape(title), STYLE, body))


def _text(value):
    return escape("" if value is None else str(value))


def _local(text, zone):
    if not text:
        return ""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M")


def _hours(seconds):
    hours = seconds / 3600
    return "%.1f 小时" % hours if hours < 48 else "%.1f 天" % (hours / 24)


def _pct(rate):
    return "—" if rate is None else "%.0f%%" % (rate * 100)


def _table(headers, rows, empty="无"):
    if not rows:
        return '<p class="none">%s</p>' % escape(empty)
    head = "".join("<th>%s</th>" % escape(header) for header in headers)
    body = "".join("<tr>%s</tr>" % "".join(
        '<td class="n">%s</td>' % cell[1] if isinstance(cell, tuple) else "<td>%s</td>" % cell
        for cell in row) for row in rows)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, body)


def _what(item):
    """How an item is named: a person by name, masked ID and flat; a case by category and place."""
    if item.get("name"):
        return "%s（%s）%s" % (_text(item["name"]), _text(item.get("id_masked")), _text(item.get("flat")))
    return "%s · %s" % (escape(CATEGORY.get(item.get("category"), item.get("category") or "")),
                        _text(item.get("location")))


def _detail(item):
    """A red item's note, in Chinese."""
    if item.get("late_seconds") is not None:
        return _hours(item["late_seconds"])
    detail = item.get("detail") or ""
    if item["kind"] in ("returned_twice", "reopened"):
        return escape(detail.replace("returned", "已退回").replace("reopened", "已重新办理")
                      .replace("times", "次").replace("escalated", "上报于"))
    return escape(STATUS.get(detail, detail.replace("escalated", "上报于")))


def _source(name):
    return escape(SOURCE.get(name, name))


def _party(name):
    return escape(PARTY.get(name, name))


def briefing_page(b):
    zone = b["time_zone"]
    period = "%s 至 %s（%s）" % (_local(b["period"]["from"], zone), _local(b["period"]["to"], zone), zone)
    body = ["<h1>五方联动每日简报 · %s</h1>" % _text(b["date"]),
            '<p class="meta">统计时段：%s；生成于 %s</p>' % (escape(period), _local(b["generated_at"], zone))]
    body.append("<h2>一、新增情况</h2>")
    body.append(_table(["来源", "合计", "分类"], [
        [_source(name), ("n", section["total"]),
         "；".join("%s %d" % (escape(CATEGORY.get(cat, cat)), count)
                  for cat, count in section["by_category"].items()) or "—"]
        for name, section in b["intake"].items()]))
    body.append("<h2>二、各方办理情况</h2>")
    body.append(_table(["单位", "收到", "已签收/受理", "已办结", "退回", "超时", "最长超时"], [
        [_party(party), ("n", row["received"]), ("n", row["acknowledged"]), ("n", row["done"]),
         ("n", row["returned"]), ("n", row["overdue_count"]),
         ('<span class="late">%s</span>' % _hours(row["worst_late_seconds"])) if row["overdue_count"] else "—"]
        for party, row in b["parties"].items()]))
    overdue = [item for party in ALL for item in b["parties"].get(party, {}).get("overdue", [])]
    overdue.sort(key=lambda item: -item["late_seconds"])
    body.append(_table(["责任单位", "事项", "来源", "超时"], [
        [_party(item["party"]), _what(item), _source(item["source"]),
         '<span class="late">%s</span>' % _hours(item["late_seconds"])] for item in overdue],
        empty="无超时事项"))
    body.append("<h2>三、红色事项</h2>")
    body.append(_table(["类别", "责任单位", "事项", "说明"], [
        [escape(KIND.get(item["kind"], item["kind"])), _party(item["party"]), _what(item), _detail(item)]
        for item in b["red"]], empty="无红色事项"))
    body.append("<h2>四、超过24小时未办结的登记</h2>")
    body.append(_table(["所在单位", "登记人", "状态", "已等待"], [
        [_party(item["party"]), _what(item), escape(STATUS.get(item["status"], item["status"])),
         "%.1f 小时" % item["pending_hours"]]
        for item in b["pending"]], empty="无"))
    body.append("<h2>五、指标</h2>")
    for window, title in (("last_7_days", "近7天"), ("month_to_date", "本月累计")):
        section = b["kpis"][window]
        body.append("<p><strong>%s</strong>（%s 至 %s）</p>" % (
            title, _local(section["from"], zone), _local(section["to"], zone)))
        rows = [[_party(party)] + [("n", _pct(row[rate])) for rate, _ in RATES] + [("n", row["received"])]
                for party, row in section["parties"].items()]
        rows.append(["<strong>合计</strong>"] + [("n", _pct(section["total"][rate])) for rate, _ in RATES]
                    + [("n", section["total"]["received"])])
        body.append(_table(["单位"] + [label for _, label in RATES] + ["收到"], rows))
    body.append("<h2>六、待联席会议决定事项</h2>")
    body.append(_table(["责任单位", "事项", "需决定"], [
        [_party(item["party"]), _what(item), escape(TOPIC.get(item.get("topic"), item["reason"]))]
        for item in b["decisions"]],
        empty="无"))
    return _page("五方联动每日简报 %s" % b["date"], "".join(body))


def monthly_page(r):
    sources = [source.name for source in SOURCES]
    body = ["<h1>五方联席会议月报 · %s</h1>" % _text(r["month"]),
            '<p class="meta">与上月（%s）对比；时区 %s；生成于 %s</p>' % (
                _text(r["previous_month"]), _text(r["time_zone"]), _local(r["generated_at"], r["time_zone"]))]
    body.append("<h2>一、新增</h2>")
    body.append(_table(["来源", "本月", "上月"], [
        [_source(name), ("n", r["intake"].get(name, 0)), ("n", r["intake_previous"].get(name, 0))]
        for name in sources]))
    body.append('<figure id="chart-intake">%s</figure>' % charts.daily_intake(r["days"], sources, SOURCE))
    body.append("<h2>二、各方指标（本月 / 上月）</h2>")
    rows = []
    for party, row in list(r["parties"].items()) + [("合计", r["total"])]:
        rows.append([_party(party)] + [("n", "%s / %s" % (_pct(row["month"][rate]), _pct(row["previous"][rate])))
                                       for rate, _ in RATES] + [("n", row["month"]["received"])])
    body.append(_table(["单位"] + [label for _, label in RATES] + ["收到"], rows))
    body.append('<figure id="chart-on-time">%s</figure>' % charts.on_time_rates(r["days"], list(ALL), PARTY))
    body.append("<h2>三、高发类别</h2>")
    body.append(_table(["来源", "类别", "本月", "上月"], [
        [_source(item["source"]), escape(CATEGORY.get(item["key"], item["key"])), ("n", item["count"]),
         ("n", item["previous"])] for item in r["top_categories"]]))
    body.append("<h2>四、高发地点（楼栋）</h2>")
    body.append(_table(["来源", "楼栋", "本月", "上月"], [
        [_source(item["source"]), _text(item["key"]), ("n", item["count"]), ("n", item["previous"])]
        for item in r["top_locations"]]))
    body.append("<h2>五、已上报联席会议、仍未办结</h2>")
    body.append(_table(["类别", "责任单位", "事项", "说明"], [
        [escape(KIND.get(item["kind"], item["kind"])), _party(item["party"]), _what(item), _detail(item)]
        for item in r["escalated_open"]], empty="无"))
    return _page("五方联席会议月报 %s" % r["month"], "".join(body))
