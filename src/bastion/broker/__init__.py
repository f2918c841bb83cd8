"""Bastion's MQTT broker: AWS IoT Core's message broker with per-message authorization.

See ``docs/broker.md``. ``MqttServer`` is the assembly (listeners + broker); ``Broker`` the shared state.
"""

from bastion.broker.authentication import Authenticator, anonymous_principal
from bastion.broker.core import Broker
from bastion.broker.limits import BrokerLimits
from bastion.broker.server import ListenerSettings, MqttServer
from bastion.broker.tls import TlsMaterial, load_or_create

__all__ = [
    "Authenticator",
    "Broker",
    "BrokerLimits",
    "ListenerSettings",
    "MqttServer",
    "TlsMaterial",
    "anonymous_principal",
    "load_or_create",
]
