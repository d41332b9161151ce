"""Fresh, realistic people to register: valid ID numbers from real region
codes, plausible names, mobile numbers and flats, local and non-local."""
import random
from datetime import date, timedelta

from shared.identity import make_id_number

# The community is in Wuhan (Hubei); local residents are born there.
LOCAL_REGIONS = [("420102", "Wuhan, Hubei"), ("420103", "Wuhan, Hubei"),
                 ("420106", "Wuhan, Hubei"), ("420111", "Wuhan, Hubei")]
# Where non-local arrivals come from.
OTHER_REGIONS = [
    ("110101", "Beijing"), ("310104", "Shanghai"), ("440305", "Shenzhen, Guangdong"),
    ("440106", "Guangzhou, Guangdong"), ("510104", "Chengdu, Sichuan"),
    ("500103", "Chongqing"), ("430102", "Changsha, Hunan"), ("410105", "Zhengzhou, Henan"),
    ("360102", "Nanchang, Jiangxi"), ("340104", "Hefei, Anhui"), ("320106", "Nanjing, Jiangsu"),
    ("330106", "Hangzhou, Zhejiang"), ("370102", "Jinan, Shandong"), ("610113", "Xi'an, Shaanxi"),
    ("450103", "Nanning, Guangxi"), ("530102", "Kunming, Yunnan"), ("130102", "Shijiazhuang, Hebei"),
    ("220102", "Changchun, Jilin"),
]
SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
            "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Gao", "Lin", "Luo", "Zheng", "Liang"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan",
         "Jie", "Juan", "Tao", "Ming", "Chao", "Xiuying", "Xia", "Ping", "Gang", "Hui", "Xin",
         "Jian Guo", "Hai Yan", "Zi Han", "Yu Xuan", "Hao Ran"]
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152",
                   "155", "158", "159", "166", "176", "177", "180", "181", "186", "187", "188",
                   "189", "198", "199"]
BUILDINGS, UNITS, FLOORS, FLATS_PER_FLOOR = 30, 4, 18, 4


class People:
    """An endless supply of distinct people (no ID number twice in a run)."""

    def __init__(self, non_local_share=0.4, seed=None):
        self.non_local_share = non_local_share
        self.random = random.Random(seed)
        self.used = set()

    def flat(self):
        r = self.random
        return {"building": str(r.randint(1, BUILDINGS)), "unit": str(r.randint(1, UNITS)),
                "room": "%d%02d" % (r.randint(1, FLOORS), r.randint(1, FLATS_PER_FLOOR))}

    def name(self):
        return "%s %s" % (self.random.choice(SURNAMES), self.random.choice(GIVEN))

    def registration(self):
        r = self.random
        local = r.random() >= self.non_local_share
        region, origin = r.choice(LOCAL_REGIONS if local else OTHER_REGIONS)
        while True:
            born = date(1945, 1, 1) + timedelta(days=r.randint(0, 365 * 62))
            id_number = make_id_number(region, born, r.randint(0, 999))
            if id_number not in self.used:
                self.used.add(id_number)
                break
        return {
            "name": self.name(),
            "id_number": id_number,
            "phone": r.choice(MOBILE_PREFIXES) + "%08d" % r.randint(0, 99999999),
            "address": self.flat(),
            "origin": origin,
            "arrival_date": (date.today() - timedelta(days=r.randint(0, 6))).isoformat(),
            "local_hukou": local,
        }

    def allocation(self):
        """A relocation flat and its household, for the developer's records."""
        address = self.flat()
        household = [self.name() for _ in range(self.random.randint(1, 4))]
        return dict(address, household=household, handed_over=self.random.random() < 0.9)

    def decision(self):
        if self.random.random() < 0.9:
            return {"outcome": "cleared", "note": "identity verified at the desk, no risk found"}
        return {"outcome": "flagged", "note": "matches a key-person watch entry; hold the pass"}
