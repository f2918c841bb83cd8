"""The AWS IoT data plane over rest-json (botocore ``iot-data``): Publish, the retained-message API, and
connection management, served by the broker through the ``DataPlane`` interface.

IAM authorization per operation follows AWS's table (docs/iot-data.md): Publish, GetRetainedMessage on
``topic/<topic>``, a retained Publish on the same topic also with iot:RetainPublish (both must allow),
ListRetainedMessages on ``*``, GetConnection, DeleteConnection and ListSubscriptions on
``client/<clientId>``. Shadow operations, ListNamedShadowsForThing and SendDirectMessage are not served.
"""

from __future__ import annotations

import uuid

from bastion.api.fronts.base import CallContext, Front, Operation, Output, Params
from bastion.api.fronts.iot_data_wire import (
    decode_token,
    encode_token,
    mqtt_text,
    page_sorted,
    parse_correlation_data,
    parse_user_properties,
    payload_format,
    render_user_properties,
)
from bastion.services.iot_data import (
    ConnectionInfo,
    DataPlane,
    OutboundMessage,
    RetainedMessageInfo,
    SubscriptionInfo,
)

RETAINED_LISTING = "iot-data-retained"
SUBSCRIPTIONS_LISTING = "iot-data-subscriptions"
# AWS documents no default page size for ListRetainedMessages (1..200); Bastion hands out the maximum.
RETAINED_PAGE_DEFAULT = 200
# ListSubscriptions: "By default, this is set to 20."
SUBSCRIPTIONS_PAGE_DEFAULT = 20


def _arn(ctx: CallContext, kind: str, name: str) -> str:
    return f"arn:aws:iot:{ctx.region}:{ctx.account_id}:{kind}/{name}"


def topic_resource(ctx: CallContext, p: Params) -> str:
    return _arn(ctx, "topic", str(p["topic"]))


def client_resource(ctx: CallContext, p: Params) -> str:
    return _arn(ctx, "client", str(p["clientId"]))


def retain_checks(ctx: CallContext, p: Params) -> list[tuple[str, str]]:
    """A retained publish also needs iot:RetainPublish on the topic."""
    return [("iot:RetainPublish", topic_resource(ctx, p))] if p.get("retain") else []


def outbound_message(p: Params) -> OutboundMessage:
    """A Publish request's parameters (as the model names them) as the message to route."""
    user_properties = p.get("userProperties")
    indicator = p.get("payloadFormatIndicator")
    correlation = p.get("correlationData")
    content_type = p.get("contentType")
    response_topic = p.get("responseTopic")
    return OutboundMessage(
        topic=p["topic"],
        payload=p.get("payload") or b"",
        qos=int(p.get("qos") or 0),
        retain=bool(p.get("retain")),
        user_properties=() if user_properties is None else parse_user_properties(user_properties),
        payload_format_indicator=None if indicator is None else payload_format(indicator),
        content_type=None if content_type is None else mqtt_text(content_type, "contentType"),
        response_topic=None if response_topic is None else mqtt_text(response_topic, "responseTopic"),
        correlation_data=None if correlation is None else parse_correlation_data(correlation),
        message_expiry=p.get("messageExpiry"),
    )


def _retained_out(found: RetainedMessageInfo) -> Output:
    out: Output = {
        "topic": found.topic,
        "payload": found.payload,
        "qos": found.qos,
        "lastModifiedTime": found.last_modified_ms,
    }
    properties = render_user_properties(found.user_properties)
    if properties is not None:
        out["userProperties"] = properties
    return out


def _summary_out(found: RetainedMessageInfo) -> Output:
    return {
        "topic": found.topic,
        "payloadSize": len(found.payload),
        "qos": found.qos,
        "lastModifiedTime": found.last_modified_ms,
    }


def _connection_out(info: ConnectionInfo, include_socket: bool) -> Output:
    fields: Output = {
        "clientId": info.client_id,
        "connected": info.connected,
        "cleanSession": info.clean_session,
        "sessionExpiry": info.session_expiry,
        "keepAliveDuration": info.keep_alive,
        "connectedSince": info.connected_since_ms,
        "disconnectedSince": info.disconnected_since_ms,
        "disconnectReason": info.disconnect_reason,
        "sourceIp": info.source_ip if include_socket else None,
    }
    return {key: value for key, value in fields.items() if value is not None}


def _subscription_out(sub: SubscriptionInfo) -> Output:
    return {"topicFilter": sub.topic_filter, "qos": sub.qos}


def build_iot_data_front(data: DataPlane) -> Front:
    async def publish(_ctx: CallContext, p: Params) -> Output:
        await data.publish(outbound_message(p))
        # No output shape in the model; this is the body AWS answers with.
        return {"message": "OK", "traceId": str(uuid.uuid4())}

    async def get_retained_message(_ctx: CallContext, p: Params) -> Output:
        return _retained_out(data.retained_message(p["topic"]))

    async def list_retained_messages(_ctx: CallContext, p: Params) -> Output:
        after = decode_token(RETAINED_LISTING, p.get("nextToken"))
        page = data.retained_messages(after, p.get("maxResults") or RETAINED_PAGE_DEFAULT)
        out: Output = {"retainedTopics": [_summary_out(item) for item in page.items]}
        if page.more and page.items:
            out["nextToken"] = encode_token(RETAINED_LISTING, page.items[-1].topic)
        return out

    async def get_connection(_ctx: CallContext, p: Params) -> Output:
        info = await data.connection(p["clientId"])
        return _connection_out(info, bool(p.get("includeSocketInformation")))

    async def delete_connection(_ctx: CallContext, p: Params) -> Output:
        await data.disconnect(
            p["clientId"],
            clean_session=bool(p.get("cleanSession")),
            prevent_will=bool(p.get("preventWillMessage")),
        )
        return {}

    async def list_subscriptions(_ctx: CallContext, p: Params) -> Output:
        subs, token = page_sorted(
            SUBSCRIPTIONS_LISTING,
            await data.subscriptions(p["clientId"]),
            lambda sub: sub.topic_filter,
            p.get("nextToken"),
            p.get("maxResults") or SUBSCRIPTIONS_PAGE_DEFAULT,
        )
        out: Output = {"subscriptions": [_subscription_out(sub) for sub in subs]}
        if token is not None:
            out["nextToken"] = token
        return out

    return Front(
        service="iot-data",
        operations={
            "Publish": Operation(publish, "iot:Publish", topic_resource, also=retain_checks),
            "GetRetainedMessage": Operation(get_retained_message, "iot:GetRetainedMessage", topic_resource),
            "ListRetainedMessages": Operation(list_retained_messages, "iot:ListRetainedMessages"),
            "GetConnection": Operation(get_connection, "iot:GetConnection", client_resource),
            "DeleteConnection": Operation(delete_connection, "iot:DeleteConnection", client_resource),
            "ListSubscriptions": Operation(list_subscriptions, "iot:ListSubscriptions", client_resource),
        },
    )
