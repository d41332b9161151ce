"""Personal data kept no longer than its purpose needs (PIPL Art. 19).

A finished document (a closed linkage, a decided check, a closed case: the
`Finished` of its collection) keeps its full identity for
PERSONAL_DATA_RETENTION_DAYS after it finished. Then it is de-identified in
place, as GB/T 35273 describes: the record stays (history, counts, the
audit trail still name it), the person in it no longer can be read off it.

- a name in Latin letters keeps the initial of its first word and its last
  word ("Wang Fang" becomes "W. Fang"); a name in Chinese characters becomes its surname and
  某, as published judgments write it (王芳 -> 王某, 欧阳娜娜 -> 欧阳某);
- an ID number becomes its masked form (shared.identity.mask_id), and a
  phone its masked form (138****5678); beside each, its keyed blind index
  (`<field>_index`), so "did we hold this person" can still be answered by
  whoever has the number, and by nobody else;
- a text written about the person (a steward's notice) has the name replaced;
- a copy made for a while (a person's export) loses the copied data;
- the document names when (`deidentified_at`); key rotations leave it alone.

The pass is cheap however long the history: the working set is small by
design (finished documents leave it for the archive, shared/store.py), and
the archive is walked a day at a time by `finished_day` (an equality, an
index lookup on every backend), from the last day done (kept in `marks`)
to the day retention reaches, in bounded batches.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta, timezone

from shared.identity import mask_id

MARKS = "marks"
BATCH = 200
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 令狐 端木 "
    "轩辕 独孤 南宫 西门 百里 呼延 东郭 闻人 万俟 澹台 公冶 宗政 濮阳 淳于 单于 太叔 "
    "申屠 公羊 赫连 钟离 第五".split())
_PHONE = re.compile(r"^(\d{3})\d{4}(\d{4})$")


@dataclass(frozen=True)
class Identity:
    """Where a collection's documents name a person. `names`, `id_numbers`,
    `phones`: top-level fields; `people`: fields holding a {name, phone}
    object (a case's reporter); `groups`: fields holding a list of people,
    each an object with any of `name`, `id_number`, `phone` (a tenancy's
    tenants); `named`: fields holding a report's items at any depth, in
    which every `name` is a person's (a briefing's late and red items);
    `texts`: dotted paths of texts that may
    quote the name; `drop`: fields removed (a copy of someone's data
    kept for a while, such as an export's answers). `finished`: when a document is finished, for a
    collection that is not archived (an archived one uses its ARCHIVED).
    `purpose` and `since` (the field of when the data came) are what a
    person's export says of the record (shared/people.py)."""
    names: tuple = ("name",)
    id_numbers: tuple = ()
    phones: tuple = ()
    people: tuple = ()
    groups: tuple = ()
    named: tuple = ()
    texts: tuple = ()
    drop: tuple = ()
    finished: object = None
    purpose: str = ""
    since: str = None


def is_cjk(text):
    return any(unicodedata.name(char, "").startswith("CJK") for char in text)


def deidentified_name(name):
    """Surname and the given name's initial (see the module's docstring)."""
    name = (name or "").strip()
    if not name:
        return name
    if is_cjk(name):
        compact = "".join(name.split())
        surname = compact[:2] if compact[:2] in COMPOUND_SURNAMES else compact[:1]
        return surname + "某"
    words = name.split()
    if len(words) == 1:
        return words[0][0] + "."
    return "%s. %s" % (words[0][0], words[-1])


def mask_phone(phone):
    """The first three and last four digits of a mobile number."""
    match = _PHONE.match(phone or "")
    return "%s****%s" % match.groups() if match else "*" * len(phone or "")


def deidentify(document, plain, identity, keyring, now):
    """De-identify `document` (as stored) in place; `plain` is the same
    document with its personal fields decrypted. Idempotent: a document
    already de-identified is left as it is."""
    if document.get("deidentified_at") is not None:
        return document
    full_names = []
    for field in identity.names:
        if plain.get(field):
            full_names.append(plain[field])
            document[field] = deidentified_name(plain[field])
    for field in identity.id_numbers:
        value = plain.get(field)
        if value:
            document[field] = mask_id(value)
            document[field + "_index"] = keyring.blind_index(value)
    for field in identity.phones:
        value = plain.get(field)
        if value:
            document[field] = mask_phone(value)
            document[field + "_index"] = keyring.blind_index(value)
    for field in identity.people:
        person = plain.get(field)
        if isinstance(person, dict):
            reduced = dict(person)
            if person.get("name"):
                full_names.append(person["name"])
                reduced["name"] = deidentified_name(person["name"])
            if person.get("phone"):
                reduced["phone"] = mask_phone(person["phone"])
                reduced["phone_index"] = keyring.blind_index(person["phone"])
            document[field] = reduced
    for field in identity.groups:
        people = plain.get(field)
        if isinstance(people, list):
            document[field] = [_reduced(person, keyring, full_names) if isinstance(person, dict)
                               else person for person in people]
    for field in identity.named:
        if field in document:
            document[field] = _names_reduced(document[field])
    for path in identity.texts:
        replace_in_text(document, path, {name: deidentified_name(name) for name in full_names})
    for field in identity.drop:
        document.pop(field, None)
    document["deidentified_at"] = now
    return document


def _names_reduced(value):
    """`value` with every `name` in it, at any depth, de-identified."""
    if isinstance(value, dict):
        return {key: deidentified_name(item) if key == "name" and isinstance(item, str)
                else _names_reduced(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_names_reduced(item) for item in value]
    return value


def _reduced(person, keyring, full_names):
    """One person of a group, de-identified (see the module's docstring)."""
    reduced = dict(person)
    if person.get("name"):
        full_names.append(person["name"])
        reduced["name"] = deidentified_name(person["name"])
    if person.get("id_number"):
        reduced["id_number"] = mask_id(person["id_number"])
        reduced["id_number_index"] = keyring.blind_index(person["id_number"])
    if person.get("phone"):
        reduced["phone"] = mask_phone(person["phone"])
        reduced["phone_index"] = keyring.blind_index(person["phone"])
    return reduced


def replace_in_text(document, path, replacements):
    """In the text at dotted `path` of `document`, if there is one, each
    {old: new} of `replacements` (the longest first)."""
    keys = path.split(".")
    holder = document
    for key in keys[:-1]:
        holder = holder.get(key) if isinstance(holder, dict) else None
    if not isinstance(holder, dict) or not isinstance(holder.get(keys[-1]), str):
        return
    text = holder[keys[-1]]
    for old in sorted((old for old in replacements if old), key=len, reverse=True):
        text = text.replace(old, replacements[old])
    holder[keys[-1]] = text


def finished_day(since):
    """The UTC day a document finished, as the archive keys it."""
    if since.tzinfo is not None:
        since = since.astimezone(timezone.utc)
    return since.date().isoformat()


def days(first, last):
    """ISO days from `first` to `last`, both included."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]
