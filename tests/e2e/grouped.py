"""Several rejected requests under one write check.

Proving that a request wrote nothing costs two snapshots of every document a
request could have left behind, and on FerretDB a snapshot costs the same
whatever it projects: the server decodes every document of every collection
it reads (a find of ~15 case documents costs 30 ms there, a projection of
`_id` and `version` as much as the whole documents). A test that sends one
endpoint a handful of bad bodies (nine bad tokens, six malformed bodies)
therefore takes one pair of snapshots around all of them, not one per body.

Nothing gets less strict: every response is still checked on its own, every
body is sent even after one failed, the failure names each body that failed
and why, and if the group wrote anything each body is sent again under a check
of its own, so the failure also names the body that wrote.
"""


def check_each(cases, check, nothing_written, name=str):
    """`check(case)` for every one of `cases`, all inside one `nothing_written()`
    (a context manager that fails when anything was written); `name(case)`
    says which case a failure is about."""
    cases = [(name(case), case) for case in cases]
    assert cases, "no cases to check"
    failed = []
    try:
        with nothing_written():
            for label, case in cases:
                try:
                    check(case)
                except AssertionError as error:
                    failed.append("%s: %s" % (label, _first_lines(error)))
    except AssertionError as written:
        failed.append("the group wrote: %s" % _first_lines(written))
        failed += _each_alone(cases, check, nothing_written)
    assert not failed, "\n".join(failed)


def _each_alone(cases, check, nothing_written):
    """Which of `cases` writes when sent alone."""
    wrote = []
    for label, case in cases:
        try:
            with nothing_written():
                try:
                    check(case)
                except AssertionError:
                    pass  # reported from the group already
        except AssertionError as written:
            wrote.append("%s, sent alone, wrote: %s" % (label, _first_lines(written)))
    return wrote or ["no case wrote when sent alone (a write from elsewhere, or one that "
                     "happens once)"]


def _first_lines(error, lines=12):
    text = str(error).splitlines()
    return "\n  ".join(text[:lines] + (["..."] if len(text) > lines else []))
