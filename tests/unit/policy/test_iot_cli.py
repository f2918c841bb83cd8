"""``bastion policy lint`` and ``bastion policy test``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bastion.cli.main import main

IOT = "arn:aws:iot:us-east-1:123456789012"
ID = "us-east-1:00000000-0000-0000-0000-000000000000"
SUB = "${cognito-identity.amazonaws.com:sub}"


def write(tmp_path: Path, name: str, value: Any) -> Path:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def test_lint_reports_findings_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = write(tmp_path, "clean.json", policy(allow(["iot:Connect"], f"{IOT}:client/c1")))
    risky = write(tmp_path, "risky.json", policy(allow(["iot:Publish"], f"{IOT}:topic/a/#")))
    broken = write(tmp_path, "broken.json", '{"Statement": []}')

    assert main(["policy", "lint", str(clean), str(risky)]) == 0
    out = capsys.readouterr().out
    assert f"{clean}: no findings" in out
    assert f"{risky}: Statement[0].Resource: warning:" in out and "[IOT_MQTT_WILDCARD_IN_TOPIC]" in out

    assert main(["policy", "lint", "--strict", str(risky)]) == 1
    assert main(["policy", "lint", str(broken)]) == 1
    capsys.readouterr()

    assert main(["policy", "lint", "--json", str(risky)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {
        "file": str(risky),
        "severity": "warning",
        "code": "IOT_MQTT_WILDCARD_IN_TOPIC",
    }.items() <= records[0].items()


def test_lint_modes_for_iam_and_guests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    role = write(
        tmp_path,
        "role.json",
        policy(allow("s3:GetObject", "arn:aws:s3:::b/*"), allow("iot:Connect", f"{IOT}:client/{SUB}")),
    )
    assert main(["policy", "lint", "--iam", str(role)]) == 0
    assert "no findings" in capsys.readouterr().out
    assert main(["policy", "lint", "--iam", "--unauthenticated", str(role)]) == 0
    assert "IOT_COGNITO_VARIABLE_FOR_GUESTS" in capsys.readouterr().out
    assert main(["policy", "lint", str(role)]) == 0
    assert "IOT_FOREIGN_ACTION" in capsys.readouterr().out


def test_lint_reports_an_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "lint", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    iot = policy(
        allow("iot:Connect", f"{IOT}:client/{SUB}"),
        allow(["iot:Publish", "iot:Receive"], f"{IOT}:topic/{SUB}/*"),
        allow("iot:Subscribe", f"{IOT}:topicfilter/{SUB}/+"),
    )
    return {
        "iot": write(tmp_path, "iot.json", iot),
        "iam": write(tmp_path, "iam.json", policy(allow("iot:*", "*"))),
        "narrow": write(tmp_path, "narrow.json", policy(allow("iot:Connect", "*"))),
    }


def test_the_two_policy_rule_offline(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    requests = write(
        tmp_path,
        "requests.jsonl",
        "\n".join(
            json.dumps(r)
            for r in [
                {"action": "CONNECT", "resource": f"client/{ID}", "expect": "ALLOWED"},
                {"action": "iot:Publish", "resource": f"topic/{ID}/t", "expect": "allowed"},
                {"action": "iot:Publish", "resource": "topic/other/t", "expect": "IMPLICIT_DENY"},
                # + is literal: the filter "<id>/x" is not "<id>/+".
                {"action": "SUBSCRIBE", "resource": f"topicfilter/{ID}/x", "expect": "DENIED"},
                {"action": "SUBSCRIBE", "resource": f"topicfilter/{ID}/+", "expect": "ALLOWED"},
            ]
        ),
    )
    code = main(["policy", "test", str(requests), "--iot", str(files["iot"]), "--iam", str(files["iam"])])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "5 requests: 5 as expected, 0 not" in out
    assert "- iam.json Statement[0]" in out and "- iot.json Statement[0]" in out

    # The role now allows only Connect: the IoT policy cannot widen it.
    code = main(["policy", "test", str(requests), "--iot", str(files["iot"]), "--iam", str(files["narrow"])])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL IMPLICIT_DENY iot:Publish" in out and "(expected ALLOWED)" in out
    assert "no statement in the IAM policies allows it" in out


def test_principal_kinds(tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    requests = write(tmp_path, "r.json", [{"action": "iot:Publish", "resource": "topic/anything"}])
    args = ["policy", "test", str(requests), "--json", "--iam", str(files["iam"]), "--iot", str(files["iot"])]

    def decision(*extra: str) -> str:
        assert main([*args, *extra]) == 0
        return str(json.loads(capsys.readouterr().out)["decision"])

    assert decision() == "IMPLICIT_DENY"  # authenticated: the IoT policy scopes down
    assert decision("--as", "cognito-unauthenticated") == "ALLOWED"  # guests: IAM alone
    assert decision("--as", "iam") == "ALLOWED"
    assert decision("--as", "iot") == "IMPLICIT_DENY"


def test_bad_request_files(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.json", "[{]")
    assert main(["policy", "test", str(bad), "--iot", str(files["iot"])]) == 1
    assert "not JSON" in capsys.readouterr().err
    no_action = write(tmp_path, "no_action.json", [{"resource": "*"}])
    assert main(["policy", "test", str(no_action), "--iot", str(files["iot"])]) == 1
    invalid_policy = write(tmp_path, "invalid.json", '{"Statement": 1}')
    requests = write(tmp_path, "r.json", [{"action": "iot:Connect"}])
    assert main(["policy", "test", str(requests), "--iot", str(invalid_policy)]) == 1
    assert "is not a valid policy" in capsys.readouterr().err
