"""Community cases (hazards, demands, disputes, camera detections) across the
five parties: the vocabulary every party shares (`model`), the events that
carry a case between them (`events`), and the desk every party works its
cases at (`desk`). The committee's dispatch, verification and KPIs live in
the committee's service; the camera gateway in the property company's.
"""
