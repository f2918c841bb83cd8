"""awsQuery details the IAM/STS models do not exercise (flattened lists/maps, renamed members), checked
against botocore's serializer and parser on a small synthetic model, plus malformed forms."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Any

import botocore.model
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from bastion.api.errors import AwsError
from bastion.api.protocols import HttpRequest, parse_request, serialize_response
from bastion.api.protocols import query as query_protocol

MODEL: dict[str, Any] = {
    "metadata": {
        "apiVersion": "2020-01-01",
        "protocol": "query",
        "xmlNamespace": "https://example.amazonaws.com/doc/2020-01-01/",
        "endpointPrefix": "example",
        "serviceId": "Example",
        "signatureVersion": "v4",
    },
    "operations": {
        "Echo": {
            "name": "Echo",
            "http": {"method": "POST", "requestUri": "/"},
            "input": {"shape": "Everything"},
            "output": {"shape": "Everything", "resultWrapper": "EchoResult"},
        }
    },
    "shapes": {
        "Everything": {
            "type": "structure",
            "members": {
                "Plain": {"shape": "Strings"},
                "Flat": {"shape": "FlatStrings"},
                "FlatNamed": {"shape": "FlatNamedStrings"},
                "Named": {"shape": "NamedStrings"},
                "Pairs": {"shape": "Pairs"},
                "FlatPairs": {"shape": "FlatPairs"},
                "Renamed": {"shape": "Text", "locationName": "OtherName"},
                "Nested": {"shape": "Nested"},
                "When": {"shape": "Time"},
                "Data": {"shape": "Data"},
                "Yes": {"shape": "Flag"},
                "Count": {"shape": "Count"},
                "Ratio": {"shape": "Ratio"},
            },
        },
        "Nested": {
            "type": "structure",
            "members": {"Inner": {"shape": "Text"}, "Items": {"shape": "Strings"}},
        },
        "Strings": {"type": "list", "member": {"shape": "Text"}},
        "FlatStrings": {"type": "list", "member": {"shape": "Text"}, "flattened": True},
        "FlatNamedStrings": {
            "type": "list",
            "member": {"shape": "Text", "locationName": "Item"},
            "flattened": True,
        },
        "NamedStrings": {"type": "list", "member": {"shape": "Text", "locationName": "Value"}},
        "Pairs": {
            "type": "map",
            "key": {"shape": "Text", "locationName": "Name"},
            "value": {"shape": "Text", "locationName": "Val"},
        },
        "FlatPairs": {"type": "map", "key": {"shape": "Text"}, "value": {"shape": "Text"}, "flattened": True},
        "Text": {"type": "string"},
        "Time": {"type": "timestamp"},
        "Data": {"type": "blob"},
        "Flag": {"type": "boolean"},
        "Count": {"type": "integer"},
        "Ratio": {"type": "double"},
    },
}
OPERATION = botocore.model.ServiceModel(MODEL, service_name="example").operation_model("Echo")

VALUE: dict[str, Any] = {
    "Plain": ["a", "b c"],
    "Flat": ["x", "y"],
    "FlatNamed": ["i1", "i2"],
    "Named": ["v1"],
    "Pairs": {"k1": "v1", "k 2": "v&2"},
    "FlatPairs": {"f": "g"},
    "Renamed": "<tag> & \r\n text",
    "Nested": {"Inner": "in", "Items": ["deep"]},
    "When": datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    "Data": b"\x00\xff",
    "Yes": True,
    "Count": 12,
    "Ratio": 0.25,
}


def _fields(params: dict[str, Any]) -> list[tuple[str, str]]:
    body = create_serializer("query", include_validation=False).serialize_to_request(params, OPERATION)[
        "body"
    ]
    encoded = urllib.parse.urlencode(body, doseq=True)
    return query_protocol.form_fields(HttpRequest("POST", "/", "", [], encoded.encode()))


def test_botocore_query_encoding_decodes_to_the_same_params() -> None:
    assert query_protocol.parse(OPERATION, _fields(VALUE)) == VALUE


def test_empty_lists_and_maps_survive() -> None:
    assert query_protocol.parse(OPERATION, _fields({"Plain": [], "Flat": []})) == {"Plain": [], "Flat": []}


def test_xml_output_reads_back_in_botocore() -> None:
    response = query_protocol.serialize(OPERATION, VALUE, "rid")
    assert response.body.startswith(
        b'<EchoResponse xmlns="https://example.amazonaws.com/doc/2020-01-01/"><EchoResult>'
    )
    parsed = create_parser("query").parse(
        {"status_code": 200, "headers": HeadersDict(response.headers), "body": response.body},
        OPERATION.output_shape,
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid"
    assert parsed == VALUE


def test_operations_without_output_answer_metadata_only() -> None:
    response = serialize_response("iam", "DeleteRole", None, "rid")
    assert response.body == (
        b'<DeleteRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        b"<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteRoleResponse>"
    )


def test_iam_policy_documents_are_url_encoded_json() -> None:
    document = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
    )
    response = serialize_response(
        "iam", "GetRolePolicy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": document}, "x"
    )
    inner = response.body.split(b"<PolicyDocument>")[1].split(b"</PolicyDocument>")[0].decode()
    assert " " not in inner and "{" not in inner
    assert urllib.parse.unquote(inner) == document


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"Action=ListRoles&Version=2010-05-08&MaxItems=ten", "MaxItems"),
        (b"Action=ListRoles&Version=2010-05-08&MaxItems=99999999999", "MaxItems"),
        (
            b"Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=d&Tags.member.x.Key=a",
            "x is not a valid index.",
        ),
        (
            b"Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=d&Tags.member.0.Key=a",
            "0 is not a valid index.",
        ),
        (b"Action=ListRoles&Version=2010-05-08&PathPrefix=%ff%fe", "invalid form encoding"),
        (b"Action=ListRoles&Version=2010-05-08&PathPrefix=\xff", "not valid UTF-8"),
        (
            b"Action=SimulateCustomPolicy&Version=2010-05-08&PolicyInputList.member.1=p&ActionNames.member.1=a"
            b"&ResourceHandlingOption=x&ContextEntries.member.1.ContextKeyValues.member.1=v&MaxItems=1.5",
            "MaxItems",
        ),
    ],
)
def test_unparseable_form_values_are_malformed_input(body: bytes, fragment: str) -> None:
    with pytest.raises(AwsError) as raised:
        parse_request(
            "iam", HttpRequest("POST", "/", "", [("Content-Type", "application/x-www-form-urlencoded")], body)
        )
    assert (raised.value.code, raised.value.status) == ("MalformedInput", 400)
    assert fragment in raised.value.message


def test_form_plus_is_space_and_query_string_params_merge() -> None:
    request = HttpRequest("POST", "/", "Action=GetRole", [], b"Version=2010-05-08&RoleName=a+b")
    with pytest.raises(AwsError) as raised:  # 'a b' is a valid form value but not a valid role name
        parse_request("iam", request)
    assert "Value 'a b' at 'roleName'" in raised.value.message
