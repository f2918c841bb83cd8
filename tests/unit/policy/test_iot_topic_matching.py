"""Property tests: in AWS IoT policy resources, MQTT's + and # are literal characters; only * and ? are
wildcards, and * crosses topic levels."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bastion.policy import Request, evaluate
from bastion.policy.iot import lint_policy
from tests.unit.policy.helpers import IOT, statement_policy

# Topic levels as MQTT clients write them: letters, digits, a few separators, and (in filters) + and #.
LEVEL = st.text(alphabet="ab1-_$.", min_size=0, max_size=4)
NAME_LEVELS = st.lists(LEVEL, min_size=1, max_size=5)
FILTER_LEVEL = st.one_of(LEVEL, st.just("+"), st.just("#"))
FILTER_LEVELS = st.lists(FILTER_LEVEL, min_size=1, max_size=5)


def topic(levels: list[str]) -> str:
    return "/".join(levels)


def allows(action: str, policy_resource: str, request_resource: str) -> bool:
    policy = statement_policy({"Effect": "Allow", "Action": action, "Resource": policy_resource})
    return evaluate([policy], Request(action, request_resource)).allowed


@given(FILTER_LEVELS, FILTER_LEVELS)
def test_a_topicfilter_without_star_or_question_matches_only_its_own_text(
    policy_levels: list[str], requested_levels: list[str]
) -> None:
    policy_filter, requested = topic(policy_levels), topic(requested_levels)
    allowed = allows("iot:Subscribe", f"{IOT}:topicfilter/{policy_filter}", f"{IOT}:topicfilter/{requested}")
    assert allowed == (policy_filter == requested)


@given(FILTER_LEVELS, NAME_LEVELS)
def test_plus_and_hash_in_a_topic_resource_never_match_a_topic_name(
    policy_levels: list[str], name_levels: list[str]
) -> None:
    # MQTT topic names cannot contain + or #, so a topic/ resource that has them matches no message.
    policy_topic = topic(policy_levels)
    name = topic(name_levels)
    allowed = allows("iot:Publish", f"{IOT}:topic/{policy_topic}", f"{IOT}:topic/{name}")
    if "+" in policy_topic or "#" in policy_topic:
        assert not allowed
    else:
        assert allowed == (policy_topic == name)


@given(NAME_LEVELS, FILTER_LEVELS)
def test_a_trailing_star_covers_every_filter_under_the_prefix_including_mqtt_wildcards(
    prefix_levels: list[str], rest_levels: list[str]
) -> None:
    prefix = topic(prefix_levels)
    requested = f"{prefix}/{topic(rest_levels)}"
    assert allows("iot:Subscribe", f"{IOT}:topicfilter/{prefix}/*", f"{IOT}:topicfilter/{requested}")


@given(NAME_LEVELS, NAME_LEVELS)
def test_star_crosses_levels_and_question_is_one_character(head: list[str], tail: list[str]) -> None:
    name = topic(head + tail)
    assert allows("iot:Receive", f"{IOT}:topic/*", f"{IOT}:topic/{name}")
    pattern = "?" * len(name)
    assert allows("iot:Receive", f"{IOT}:topic/{pattern}", f"{IOT}:topic/{name}")
    assert not allows("iot:Receive", f"{IOT}:topic/{pattern}?", f"{IOT}:topic/{name}")


@given(FILTER_LEVELS)
def test_a_deny_on_a_narrower_topicfilter_does_not_stop_a_broader_wildcard_subscription(
    levels: list[str],
) -> None:
    policy = statement_policy(
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/*"},
        {"Effect": "Deny", "Action": "iot:Subscribe", "Resource": f"{IOT}:topicfilter/a/restricted/*"},
    )
    requested = topic(levels)
    decision = evaluate([policy], Request("iot:Subscribe", f"{IOT}:topicfilter/{requested}"))
    assert decision.explicit_deny == requested.startswith("a/restricted/")
    assert decision.allowed != requested.startswith("a/restricted/")


@given(FILTER_LEVELS)
def test_the_lint_flags_exactly_the_resources_with_mqtt_wildcards(levels: list[str]) -> None:
    filter_text = topic(levels)
    text = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Subscribe","iot:Receive"],'
        f'"Resource":"{IOT}:topicfilter/{filter_text}"}}]}}'
    )
    codes = {f.code for f in lint_policy(text).findings}
    assert ("IOT_MQTT_WILDCARD_IN_TOPIC_FILTER" in codes) == ("+" in filter_text or "#" in filter_text)


@given(st.text(alphabet="ab+#/*?", min_size=1, max_size=8))
def test_a_client_id_full_of_wildcards_binds_as_literal_text(client_id: str) -> None:
    policy = statement_policy(
        {
            "Effect": "Allow",
            "Action": "iot:Subscribe",
            "Resource": f"{IOT}:topicfilter/my/${{iot:ClientId}}/t",
        }
    ).bind({"iot:ClientId": client_id})
    assert evaluate([policy], Request("iot:Subscribe", f"{IOT}:topicfilter/my/{client_id}/t")).allowed
    if client_id != "x":
        assert not evaluate([policy], Request("iot:Subscribe", f"{IOT}:topicfilter/my/x/t")).allowed
