"""The subscription index: which sessions a topic reaches.

Ordinary subscriptions live in one :class:`~bastion.mqtt.SubscriptionTrie` keyed by filter, valued by
session (exact filters are one dict lookup there). Shared subscriptions (``$share/<group>/<filter>``,
accepted on MQTT 3.1.1 too, as AWS does) live in a second trie whose values are groups; each matching
group hands the message to one member, round robin, preferring members that are connected.

A session subscribed through several filters that match the same topic receives the message once, with
the highest QoS among those subscriptions.
"""

from __future__ import annotations

from bastion.broker.sessions import Session, SubscriptionEntry
from bastion.mqtt import SubscriptionTrie


class SharedGroup:
    __slots__ = ("key", "members", "turn")

    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key
        self.members: list[Session] = []
        self.turn = 0

    def pick(self) -> Session | None:
        members = self.members
        count = len(members)
        if not count:
            return None
        start = self.turn
        self.turn = (start + 1) % count
        for step in range(count):
            member = members[(start + step) % count]
            if member.connection is not None:
                return member
        # Nobody connected: a persistent member keeps it for later.
        for step in range(count):
            member = members[(start + step) % count]
            if member.persistent:
                return member
        return None


class Router:
    def __init__(self) -> None:
        self._direct: SubscriptionTrie[Session] = SubscriptionTrie()
        self._shared: SubscriptionTrie[SharedGroup] = SubscriptionTrie()
        self._groups: dict[tuple[str, str], SharedGroup] = {}

    def __len__(self) -> int:
        return len(self._direct) + sum(len(g.members) for g in self._groups.values())

    def add(self, session: Session, entry: SubscriptionEntry) -> None:
        if entry.share_name is None:
            self._direct.add(entry.match_filter, session)
            return
        key = (entry.share_name, entry.match_filter)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = SharedGroup(key)
            self._shared.add(entry.match_filter, group)
        if session not in group.members:
            group.members.append(session)

    def remove(self, session: Session, entry: SubscriptionEntry) -> None:
        if entry.share_name is None:
            self._direct.remove(entry.match_filter, session)
            return
        key = (entry.share_name, entry.match_filter)
        group = self._groups.get(key)
        if group is None:
            return
        if session in group.members:
            group.members.remove(session)
        if not group.members:
            del self._groups[key]
            self._shared.remove(entry.match_filter, group)

    def remove_all(self, session: Session) -> None:
        for entry in session.subscriptions.values():
            self.remove(session, entry)

    def match(self, topic: str) -> list[tuple[Session, SubscriptionEntry]]:
        """Each session the topic reaches, once, with the subscription that decides its QoS."""
        found = self._direct.match(topic)
        out: list[tuple[Session, SubscriptionEntry]]
        if len(found) == 1:
            topic_filter, session = found[0]
            out = [(session, session.subscriptions[topic_filter])]
        else:
            best: dict[Session, SubscriptionEntry] = {}
            for topic_filter, session in found:
                entry = session.subscriptions[topic_filter]
                held = best.get(session)
                if held is None or entry.qos > held.qos:
                    best[session] = entry
            out = list(best.items())
        if self._groups:
            for shared_filter, group in self._shared.match(topic):
                member = group.pick()
                if member is not None:
                    name = f"$share/{group.key[0]}/{shared_filter}"
                    out.append((member, member.subscriptions[name]))
        return out
