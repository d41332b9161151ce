"""The camera gateway: detections in, at most one open case per (camera, kind).

Every detection is kept. One below the confidence threshold reports
nothing. While a case from the same camera and kind is open, a detection
attaches to it (its count goes up and the committee is told); the first one
after that case closed reports a new case. The (camera, kind) watch is a
document keyed by both, written under its lock, and the case's id is derived
from the watch's generation, so a crash between reporting the case and
updating the watch still ends with one case.
"""
import json
import uuid

import pymongo
from pymongo.errors import DuplicateKeyError

from shared import clock
from shared.cases.desk import REPORTS, CaseDeskRepository
from shared.cases.model import CAMERA_KINDS

WATCHES = "camera_watches"
DETECTIONS = "detections"
CASE_NAMESPACE = uuid.UUID("0b6e3f4a-8d2c-4c1e-b7a9-5e2f1d3c4b6a")


def watch_key(camera_id, kind):
    # JSON keeps the two parts apart whatever characters they hold.
    return json.dumps([camera_id, kind], ensure_ascii=False)


def report_for(detection):
    return {
        "category": CAMERA_KINDS[detection["kind"]],
        "description": "camera %s detected %s (confidence %.2f)" % (
            detection["camera_id"], detection["kind"], detection["confidence"]),
        "location": detection["location"],
        "source": "camera",
        "reporter": None,
        "safety_risk": False,
    }


class CameraDeskRepository(CaseDeskRepository):
    """The property company's case desk, with the cameras' detections."""

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[DETECTIONS].create_index([("camera_id", 1), ("detected_at", -1)])

    def detect(self, detection, user, threshold):
        now = clock.utcnow()
        record = dict(detection, _id=str(uuid.uuid4()), received_at=now, received_by=user,
                      case_id=None, reported=False, attached=False, count=None)
        if detection["confidence"] >= threshold:
            key = watch_key(detection["camera_id"], detection["kind"])
            with self.locked(WATCHES, key):
                record["case_id"], record["reported"], record["count"] = self._watch(
                    key, detection, user, now)
            record["attached"] = not record["reported"]
        self.db[DETECTIONS].insert_one(record)
        return record

    def _watch(self, key, detection, user, now):
        watch = self.db[WATCHES].find_one({"_id": key}) or {"generation": 0, "open_case_id": None}
        case_id = watch["open_case_id"]
        if case_id is None:
            generation = watch["generation"] + 1
            case_id = str(uuid.uuid5(CASE_NAMESPACE, "%s:%d" % (key, generation)))
            seen = {"camera_id": detection["camera_id"], "kind": detection["kind"], "count": 1,
                    "first_detected_at": detection["detected_at"],
                    "last_detected_at": detection["detected_at"],
                    "confidence": detection["confidence"],
                    "snapshot_ref": detection.get("snapshot_ref")}
            try:
                self.report(case_id, report_for(detection), user, now, detection=seen)
                reported = True
            except DuplicateKeyError:
                reported = False  # reported before a crash left the watch behind
            self.db[WATCHES].update_one({"_id": key}, {"$set": {
                "open_case_id": case_id, "generation": generation, "updated_at": now}}, upsert=True)
            if reported:
                return case_id, True, 1
        return case_id, False, self._attach(case_id, detection)

    def _attach(self, case_id, detection):
        counted = {}

        def decide(report):
            seen = report["detection"]
            seen["count"] += 1
            seen["last_detected_at"] = max(seen["last_detected_at"], detection["detected_at"])
            seen["confidence"] = max(seen["confidence"], detection["confidence"])
            counted["count"] = seen["count"]
            return [self.event("case_detection_counted", {
                "case_id": case_id, "count": seen["count"],
                "last_detected_at": seen["last_detected_at"]}, case_id)]
        self.modify(REPORTS, case_id, decide)
        return counted["count"]

    def detections(self, camera_id=None, reported=None, limit=50, cursor=None):
        query = {}
        if camera_id:
            query["camera_id"] = camera_id
        if reported is not None:
            query["reported"] = reported
        return self.page(DETECTIONS, query, "received_at", pymongo.DESCENDING, limit, cursor)

    def release_watch(self, case_id):
        """The case closed: the next detection of its camera and kind reports anew."""
        report = self.reported(case_id)
        if report is None or not report.get("detection"):
            return
        key = watch_key(report["detection"]["camera_id"], report["detection"]["kind"])
        with self.locked(WATCHES, key):
            watch = self.db[WATCHES].find_one({"_id": key})
            if watch and watch["open_case_id"] == case_id:
                self.db[WATCHES].update_one({"_id": key}, {"$set": {
                    "open_case_id": None, "updated_at": clock.utcnow()}})
