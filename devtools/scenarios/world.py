"""The scenario world: people, devices and addresses unique across every scenario, and the truth labels."""

from __future__ import annotations

import ipaddress
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional, Tuple, Union

Value = Union[str, List[str]]
Row = Dict[str, Value]

DAY0 = 1763596800  # 2025-11-20T00:00:00Z: "today"; "yesterday" is DAY0 - 86400
CORP = "example-corp.com"
DOMAIN = "CORP"

FIRST = ["avery", "jordan", "casey", "riley", "morgan", "quinn", "devon", "harper", "rowan", "sage",
         "emery", "finley", "hayden", "kendall", "logan", "parker", "reese", "skyler", "taylor", "blake",
         "cameron", "dakota", "elliot", "frankie", "gray", "jamie", "kai", "lane", "marley", "noel"]
LAST = ["lin", "reyes", "okafor", "novak", "schmidt", "tanaka", "moreau", "silva", "kowalski", "haddad",
        "nilsson", "ibrahim", "costa", "murphy", "yilmaz", "park", "dubois", "rossi", "jensen", "khan",
        "weber", "santos", "larsen", "ng", "oconnor", "petrov", "garcia", "mensah", "fischer", "kim"]

GOOGLE_API_IPS = [f"142.250.74.{i}" for i in range(10, 60)] + [f"172.217.16.{i}" for i in range(10, 60)]
OTHER_HOSTS = ["www.bing.com", "login.microsoftonline.com", "outlook.office365.com", "github.com",
               "slack.com", "zoom.us", "www.google.com", "fonts.gstatic.com", "pypi.org", "example.org"]
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.{v} Safari/605.1.15",
]

# What is denied, and by which policy: (service, method, resource template, constraint, kind).
# kind "org" = OrgPolicyViolationInfo metadata, "vpcsc" = VpcServiceControlAuditMetadata.
DENIALS = [
    ("notebooks.googleapis.com", "google.cloud.notebooks.v1.NotebookService.CreateInstance",
     "projects/{p}/locations/{zone}/instances/{name}", "constraints/gcp.restrictServiceUsage", "org"),
    ("compute.googleapis.com", "v1.compute.instances.insert",
     "projects/{p}/zones/{zone}/instances/{name}", "constraints/compute.vmExternalIpAccess", "org"),
    ("aiplatform.googleapis.com", "google.cloud.aiplatform.v1.NotebookService.AssignNotebookRuntime",
     "projects/{p}/locations/{region}/notebookRuntimes/{name}", "constraints/gcp.restrictServiceUsage",
     "org"),
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.JobService.InsertJob",
     "projects/{p}/jobs/{name}", "", "vpcsc"),
    ("storage.googleapis.com", "google.storage.objects.get",
     "projects/_/buckets/{p}-exports/objects/{name}.csv", "", "vpcsc"),
]
ACTIVITY = [
    ("compute.googleapis.com", "v1.compute.instances.list", "projects/{p}/zones/{zone}/instances",
     "data_access"),
    ("storage.googleapis.com", "storage.buckets.list", "projects/_/buckets", "data_access"),
    ("iam.googleapis.com", "google.iam.admin.v1.ListServiceAccounts", "projects/{p}", "data_access"),
    ("compute.googleapis.com", "v1.compute.firewalls.patch", "projects/{p}/global/firewalls/{name}",
     "activity"),
    ("cloudresourcemanager.googleapis.com", "SetIamPolicy", "projects/{p}", "activity"),
]
ZONES = ["europe-west1-b", "us-central1-a", "europe-west4-c", "us-east1-d"]


# --------------------------------------------------------------------------------------------------
# small helpers


def norm_user(name: str) -> str:
    """The contract's comparison key: lower case, no ``DOMAIN\\`` prefix, no ``@domain`` suffix."""
    key = name.strip().lower()
    if "\\" in key:
        key = key.rsplit("\\", 1)[1]
    if "@" in key:
        key = key.split("@", 1)[0]
    return key


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def splunk_time(t: float) -> str:
    return f"{t:.3f}"


def ipv6_forms(addr: str) -> List[str]:
    """The same IPv6 address written the ways different sources write it."""
    ip = ipaddress.IPv6Address(addr)
    groups = ip.exploded.split(":")
    padded = [g.zfill(4) if g and i % 2 else g for i, g in enumerate(ip.compressed.split(":"))]
    return [
        ip.compressed,                                   # 2001:db8:1a::3c
        ip.exploded,                                     # 2001:0db8:001a:0000:...:003c
        ip.exploded.upper(),                             # 2001:0DB8:001A:...
        ip.compressed.upper(),                           # 2001:DB8:1A::3C
        ":".join(g.lstrip("0") or "0" for g in groups),  # 2001:db8:1a:0:0:0:0:3c
        ":".join(padded).upper(),                        # 2001:0DB8:1A::003C (some zeros kept)
    ]


@dataclass
class Truth:
    """Ground truth for one policy-denied event."""

    insert_id: str
    scenario: str
    user: Optional[str]  # normalised key of the person, None = cannot tell
    time: float
    note: str
    not_masked: bool = False
    host: Optional[str] = None  # the device, where the chain goes through one
    actual: Optional[str] = None  # who really made the call, where the scenario knows it


    def as_dict(self) -> Dict[str, object]:
        return {"insert_id": self.insert_id, "scenario": self.scenario, "user": self.user,
                "time": self.time, "note": self.note, "not_masked": self.not_masked, "host": self.host,
                "actual": self.actual}


@dataclass
class Scenario:
    name: str
    description: str
    rows: List[Row] = field(default_factory=list)
    truth: Dict[str, Truth] = field(default_factory=dict)

    def newest_first(self) -> List[Row]:
        return sorted(self.rows, key=lambda r: -float(str(r["_time"])))

    def oldest_first(self) -> List[Row]:
        return sorted(self.rows, key=lambda r: float(str(r["_time"])))

    @property
    def denied_count(self) -> int:
        return len(self.truth)


# --------------------------------------------------------------------------------------------------
# the world: unique people, devices and addresses across every scenario


class World:
    def __init__(self, seed: int, day0: float = DAY0, device_base: int = 0) -> None:
        """``device_base`` numbers this world's devices after another world's (the same laptop name,
        and so the same EDR sensor id, in two worlds of one stream would be one device)."""
        self.day0 = day0
        self.rng = random.Random(seed)
        self._users = [f"{f}.{ln}" for f in FIRST for ln in LAST]
        self.rng.shuffle(self._users)
        self._user_i = 0
        self._public: set[str] = set()
        self._internal = 0
        self._device = device_base
        self._office = 0
        self._ids = 0
        self._project = 0
        self.project_numbers: Dict[str, int] = {}

    # people and things
    def user(self) -> str:
        i = self._user_i
        self._user_i += 1
        lap = i // len(self._users)
        return self._users[i % len(self._users)] + (str(lap + 1) if lap else "")

    def device(self, kind: str = "LAPTOP") -> Tuple[str, str]:
        self._device += 1
        mac = f"00:1a:2b:{(self._device >> 16) & 255:02x}:{(self._device >> 8) & 255:02x}:{self._device & 255:02x}"
        return f"{kind}-{self._device:05d}", mac

    def project(self) -> str:
        self._project += 1
        kind = self.rng.choice(["ds", "ml", "analytics", "research", "platform"])
        name = f"{kind}-{self.rng.choice(['sandbox', 'dev', 'prod', 'lab'])}-{self._project:03d}"
        self.project_numbers[name] = 100000000000 + self.rng.randrange(10 ** 11)
        return name

    def public_ip(self) -> str:
        """A realistic residential/hotel IPv4 (never internal, never Google)."""
        while True:
            first = self.rng.choice([31, 46, 62, 77, 81, 82, 86, 88, 90, 92, 94, 109, 176, 178, 185, 188,
                                     212, 213, 217, 24, 67, 73, 98])
            ip = f"{first}.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
            if ip not in self._public:
                self._public.add(ip)
                return ip

    def office_egress(self) -> str:
        self._office += 1
        if self._office < 3 * 240:
            pool = ["203.0.113.%d", "198.51.100.%d", "192.0.2.%d"]  # documentation ranges: public per contract
            return pool[self._office % 3] % (10 + self._office // 3)
        return self.public_ip()  # large runs: the documentation ranges are used up

    def google_ip(self) -> str:
        while True:
            ip = f"34.{self.rng.randrange(64, 160)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
            if ip not in self._public:
                self._public.add(ip)
                return ip

    def public_ipv6(self) -> str:
        while True:
            prefix = self.rng.choice(["2001:db8", "2a02:8108", "2600:1700", "2a01:e0a"])
            a, b, c = (self.rng.randrange(1, 65535) for _ in range(3))
            ip = str(ipaddress.IPv6Address(f"{prefix}:{a:x}:{b:x}::{c:x}"))
            if ip not in self._public:
                self._public.add(ip)
                return ip

    def internal_ip(self) -> str:
        self._internal += 1
        n = self._internal
        return f"10.{40 + n // 60000}.{(n // 250) % 240}.{n % 250 + 2}"

    def insert_id(self) -> str:
        self._ids += 1
        return f"{uuid.UUID(int=self.rng.getrandbits(128)).hex[:10]}{self._ids:06d}"

    def invocation_id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128)).hex

    # user agents
    def gcloud_ua(self, command: str, devshell: bool = False) -> Tuple[str, str]:
        """(agent as the GCP log records it, agent as a proxy saw it)."""
        env = "devshell" if devshell else "None"
        os_name, os_ver, term = self.rng.choice([
            ("WINDOWS", "10.0.22631", "(Windows NT 10.0.22631)"),
            ("MACOSX", "14.4.1", "xterm-256color"),
            ("LINUX", "6.5.0", "xterm-256color"),
        ])
        if devshell:
            os_name, os_ver, term = "LINUX", "6.1.85+", "screen"
        version = self.rng.choice(["455.0.0", "470.0.0", "497.0.0"])
        sent = (f"google-cloud-sdk gcloud/{version} command/{command} invocation-id/{self.invocation_id()} "
                f"environment/{env} environment-version/None client-os/{os_name} client-os-ver/{os_ver} "
                f"client-pltf-arch/x86_64 interactive/True from-script/False python/3.11.8 term/{term}")
        return sent + ",gzip(gfe)", sent

    def browser_ua(self) -> Tuple[str, str]:
        sent = self.rng.choice(BROWSERS).format(v=self.rng.randrange(118, 132))
        return sent + ",gzip(gfe)", sent

    def sdk_ua(self) -> Tuple[str, str]:
        sent = self.rng.choice([
            f"Terraform/1.9.{self.rng.randrange(8)} (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 "
            f"terraform-provider-google/6.{self.rng.randrange(12)}.0",
            f"gl-python/3.11.{self.rng.randrange(10)} grpc/1.62.1 gax/2.17.1 gapic/1.11.0",
        ])
        # client libraries are often recorded with the suffix twice
        return sent + ",gzip(gfe)" + (",gzip(gfe)" if "gl-python" in sent else ""), sent
