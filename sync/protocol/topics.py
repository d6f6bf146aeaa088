"""Topic plan: ``se/v1/{chain}/...``. See docs/protocol.md for the full table."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "se/v1"
EVENTS_SHARE_GROUP = "central"


@dataclass(frozen=True)
class DeviceTopics:
    """Every topic one device publishes to or subscribes to."""

    chain: str
    region: str
    store: str
    device: str

    @property
    def root(self) -> str:
        return f"{PREFIX}/{self.chain}"

    def scopes(self) -> list[str]:
        """The bundle scopes this device follows, least specific first."""
        return ["chain", f"region/{self.region}", f"store/{self.store}", f"device/{self.device}"]

    def bundle(self, scope: str) -> str:
        return f"{self.root}/bundle/{scope}"

    def override(self, scope: str) -> str:
        return override_topic(self.chain, scope)

    @property
    def profiles(self) -> str:
        return f"{self.root}/profiles/store/{self.store}"

    @property
    def events(self) -> str:
        return f"{self.root}/events/{self.store}/{self.device}"

    @property
    def acks(self) -> str:
        return f"{self.root}/ack/{self.store}/{self.device}"

    @property
    def presence(self) -> str:
        return f"{self.root}/presence/{self.store}/{self.device}"

    @property
    def commands(self) -> str:
        return f"{self.root}/cmd/{self.store}/{self.device}"

    @property
    def responses(self) -> str:
        return response_topic(self.chain, self.store, self.device)

    @property
    def command_replies(self) -> str:
        """Where command answers go when the command names no ResponseTopic (the only one the ACL lets it use)."""
        return command_reply_topic(self.chain, self.store, self.device)

    @property
    def lookup_requests(self) -> str:
        return lookup_request_topic(self.chain, self.store, self.device)

    @property
    def weather(self) -> str:
        """The store's latest weather observation, retained by head office."""
        return weather_topic(self.chain, self.store)

    @property
    def pos_redeem(self) -> str:
        """Redemption requests from the store's tills (MQTT 5 request/response; docs/pos.md)."""
        return f"{self.root}/pos/{self.store}/redeem"

    def subscriptions(self) -> list[str]:
        return [self.bundle(s) for s in self.scopes()] + [self.override(s) for s in self.scopes()] + [
            self.profiles,
            self.acks,
            self.commands,
            self.responses,
            self.presence,
            self.weather,
        ]


def bundle_topic(chain: str, scope: str) -> str:
    return f"{PREFIX}/{chain}/bundle/{scope}"


def override_topic(chain: str, scope: str) -> str:
    return f"{PREFIX}/{chain}/override/{scope}"


def lookup_request_topic(chain: str, store: str, device: str) -> str:
    """Per device, so that the topic (which the broker's ACL vouches for) names who is asking."""
    return f"{PREFIX}/{chain}/lookup/req/{store}/{device}"


def lookup_request_filter(chain: str) -> str:
    return f"{PREFIX}/{chain}/lookup/req/+/+"


def response_topic(chain: str, store: str, device: str) -> str:
    """The only topic head office answers a device's lookup on."""
    return f"{PREFIX}/{chain}/resp/{store}/{device}"


def shared_events_filter(chain: str, group: str = EVENTS_SHARE_GROUP) -> str:
    return f"$share/{group}/{PREFIX}/{chain}/events/+/+"


def ack_topic(chain: str, store: str, device: str) -> str:
    return f"{PREFIX}/{chain}/ack/{store}/{device}"


def presence_filter(chain: str) -> str:
    return f"{PREFIX}/{chain}/presence/+/+"


def profiles_topic(chain: str, store: str) -> str:
    return f"{PREFIX}/{chain}/profiles/store/{store}"


def command_topic(chain: str, store: str, device: str) -> str:
    return f"{PREFIX}/{chain}/cmd/{store}/{device}"


def command_reply_topic(chain: str, store: str, device: str) -> str:
    return f"{PREFIX}/{chain}/cmdresp/{store}/{device}"


def command_reply_filter(chain: str) -> str:
    return f"{PREFIX}/{chain}/cmdresp/+/+"


def weather_topic(chain: str, store: str) -> str:
    return f"{PREFIX}/{chain}/weather/{store}"


def parse_events_topic(topic: str) -> tuple[str, str] | None:
    """``se/v1/{chain}/events/{store}/{device}`` -> (store, device)."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[3] != "events":
        return None
    return parts[4], parts[5]


def parse_lookup_topic(topic: str) -> tuple[str, str] | None:
    """``se/v1/{chain}/lookup/req/{store}/{device}`` -> (store, device)."""
    parts = topic.split("/")
    if len(parts) != 7 or parts[3:5] != ["lookup", "req"]:
        return None
    return parts[5], parts[6]


VALID_SCOPE_KINDS = ("chain", "region", "store", "device")


def is_valid_scope(scope: str) -> bool:
    if scope == "chain":
        return True
    kind, _, name = scope.partition("/")
    return kind in VALID_SCOPE_KINDS[1:] and bool(name) and "/" not in name and "+" not in name and "#" not in name
